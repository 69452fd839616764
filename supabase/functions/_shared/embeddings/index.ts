import type { Logger } from '../log.ts';
import type { EmbeddingsConfig } from './config.ts';
import type { SupabaseRuntime } from './supabase-ai.ts';
import type { Embedder } from './types.ts';

export {
  DEFAULT_OPENAI_BASE_URL,
  EMBEDDING_PROVIDERS,
  type EmbeddingProvider,
  type EmbeddingsConfig,
  type EmbeddingsEnv,
  EmbeddingsEnvSchema,
  embeddingsConfig,
  type LocalEmbeddingsConfig,
  type OpenAIEmbeddingsConfig,
} from './config.ts';
export type { SupabaseAiRunOptions, SupabaseAiSession, SupabaseRuntime } from './supabase-ai.ts';
export {
  EMBEDDING_DIMENSIONS,
  type Embedder,
  EmbeddingError,
  type EmbeddingErrorCode,
  type EmbeddingErrorOptions,
  type EmbedOptions,
} from './types.ts';

/**
 * What {@link createEmbedder} takes besides the config. Only `logger` is always needed; each provider says
 * which of the others it uses, and entry files can pass all of them (they are cheap and unused otherwise).
 */
export interface EmbedderDeps {
  logger: Logger;
  /** `openai`: fetch for every request; default global fetch. */
  fetch?: typeof fetch;
  /** `supabase`: the edge runtime's `Supabase` global (`globalThis.Supabase`), absent outside it. */
  supabase?: SupabaseRuntime;
  /** `local`: reads a whole file (`Deno.readFile`; `readFile` from `node:fs/promises` in tests). */
  readFile?: (path: string) => Promise<Uint8Array>;
  /** `local`: path of onnxruntime-web's `ort-wasm-simd-threaded.wasm`, read with `readFile`; see `local.ts`. */
  ortWasmPath?: string;
}

/**
 * Builds the {@link Embedder} the config chooses. Call it once at start-up, after {@link embeddingsConfig}:
 * it throws an `EnvError` naming the variable to fix when the provider cannot work here (`supabase` outside the
 * edge runtime, `local` with an unusable model directory). Provider modules are imported on demand, so a
 * function using `hash` or `openai` never loads onnxruntime-web.
 */
export async function createEmbedder(config: EmbeddingsConfig, deps: EmbedderDeps): Promise<Embedder> {
  let embedder: Embedder;
  switch (config.provider) {
    case 'hash': {
      const { createHashEmbedder } = await import('./hash.ts');
      return createHashEmbedder(deps.logger);
    }
    case 'openai': {
      const { createOpenAIEmbedder } = await import('./openai.ts');
      embedder = createOpenAIEmbedder(config, { fetch: deps.fetch });
      break;
    }
    case 'supabase': {
      const { createSupabaseAiEmbedder } = await import('./supabase-ai.ts');
      embedder = createSupabaseAiEmbedder(deps.supabase);
      break;
    }
    case 'local': {
      if (!deps.readFile) throw new TypeError('createEmbedder: EMBEDDINGS_PROVIDER=local needs deps.readFile');
      const { createLocalEmbedder } = await import('./local.ts');
      embedder = await createLocalEmbedder(config, { readFile: deps.readFile, ortWasmPath: deps.ortWasmPath });
      break;
    }
  }
  deps.logger.log('info', `embeddings: using ${embedder.id}`, { embedder: embedder.id });
  return embedder;
}
