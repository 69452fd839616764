import { z } from 'zod';
import { EnvError, optionalVar } from '../env.ts';
import { EMBEDDING_DIMENSIONS } from './types.ts';

/** The embedders `EMBEDDINGS_PROVIDER` can choose. */
export const EMBEDDING_PROVIDERS = ['hash', 'openai', 'supabase', 'local'] as const;

/** One of {@link EMBEDDING_PROVIDERS}. */
export type EmbeddingProvider = (typeof EMBEDDING_PROVIDERS)[number];

/** The OpenAI API; any OpenAI-compatible server (Ollama, vLLM, LM Studio, a gateway) can replace it. */
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';


/**
 * The `EMBEDDINGS_*` variables. Functions that embed merge it into their schema, then derive the config:
 * `embeddingsConfig(parseEnv(SupabaseEnvSchema.extend(EmbeddingsEnvSchema.shape), readEnv()))`.
 */
export const EmbeddingsEnvSchema = z.object({
  /** Which embedder: `hash` (default, dev-only), `openai`, `supabase` or `local`. */
  EMBEDDINGS_PROVIDER: optionalVar(z.enum(EMBEDDING_PROVIDERS, { error: `expected one of ${EMBEDDING_PROVIDERS.join(', ')}` })),
  /** Optional statement of the width; only 384 is accepted, because the database column is `vector(384)`. */
  EMBEDDINGS_DIMENSIONS: optionalVar(
    z.coerce
      .number()
      .refine((n) => n === EMBEDDING_DIMENSIONS, `must be ${EMBEDDING_DIMENSIONS}: document_chunks.embedding is vector(${EMBEDDING_DIMENSIONS})`),
  ),
  /** `openai`: the model name, e.g. `text-embedding-3-small` or Ollama's `all-minilm`. */
  EMBEDDINGS_MODEL: optionalVar(z.string().trim().min(1)),
  /** `openai`: base URL of an OpenAI-compatible API; default {@link DEFAULT_OPENAI_BASE_URL}. */
  EMBEDDINGS_BASE_URL: optionalVar(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:11434/v1' })),
  /** `openai`: bearer token; required for api.openai.com, optional elsewhere (e.g. Ollama). */
  EMBEDDINGS_API_KEY: optionalVar(z.string().min(1)),
  /** `openai`: send `dimensions: 384` (default true); set false for servers that reject the field. */
  EMBEDDINGS_SEND_DIMENSIONS: optionalVar(z.stringbool()),
  /** Texts per request (`openai`, default 128) or per model run (`local`, default 8). */
  EMBEDDINGS_BATCH_SIZE: optionalVar(z.coerce.number().int().min(1).max(2048)),
  /** `openai`: retries of a request after 429, 5xx or a network error (default 2). */
  EMBEDDINGS_MAX_RETRIES: optionalVar(z.coerce.number().int().min(0).max(10)),
  /** `local`: directory of a downloaded model (`tokenizer.json`, `tokenizer_config.json`, `onnx/model.onnx`). */
  EMBEDDINGS_MODEL_DIR: optionalVar(z.string().min(1)),
  /** `local`: the `.onnx` file inside the directory, when not one of the usual names. */
  EMBEDDINGS_MODEL_FILE: optionalVar(z.string().min(1)),
});

/** The raw variables as parsed by {@link EmbeddingsEnvSchema}. */
export type EmbeddingsEnv = z.output<typeof EmbeddingsEnvSchema>;

/** Settings of the `openai` embedder. */
export interface OpenAIEmbeddingsConfig {
  provider: 'openai';
  /** Without a trailing slash; requests go to `${baseUrl}/embeddings`. */
  baseUrl: string;
  apiKey?: string;
  model: string;
  sendDimensions: boolean;
  batchSize: number;
  maxRetries: number;
}

/** Settings of the `local` embedder. */
export interface LocalEmbeddingsConfig {
  provider: 'local';
  modelDir: string;
  /** Path of the `.onnx` file relative to `modelDir`; when absent the usual names are tried. */
  modelFile?: string;
  batchSize: number;
}

/** What {@link createEmbedder} needs, derived once from the environment by {@link embeddingsConfig}. */
export type EmbeddingsConfig =
  | { provider: 'hash' }
  | { provider: 'supabase' }
  | OpenAIEmbeddingsConfig
  | LocalEmbeddingsConfig;

const IMPLIES_A_PROVIDER = ['EMBEDDINGS_MODEL', 'EMBEDDINGS_BASE_URL', 'EMBEDDINGS_API_KEY', 'EMBEDDINGS_MODEL_DIR'] as const;

/**
 * Derives the {@link EmbeddingsConfig} from parsed variables, checking what depends on the provider. Throws
 * {@link EnvError} naming each variable to fix: `openai` without `EMBEDDINGS_MODEL`, api.openai.com without
 * `EMBEDDINGS_API_KEY`, `local` without `EMBEDDINGS_MODEL_DIR`, `supabase` with a model other than gte-small, and
 * provider settings without `EMBEDDINGS_PROVIDER` (which would otherwise fall back to the dev-only hash embedder).
 */
export function embeddingsConfig(env: EmbeddingsEnv): EmbeddingsConfig {
  const problems: Array<{ name: string; text: string }> = [];
  const provider = env.EMBEDDINGS_PROVIDER ?? 'hash';
  let config: EmbeddingsConfig = { provider: 'hash' };

  if (env.EMBEDDINGS_PROVIDER === undefined) {
    const set = IMPLIES_A_PROVIDER.filter((name) => env[name] !== undefined);
    if (set.length > 0) {
      problems.push({
        name: 'EMBEDDINGS_PROVIDER',
        text: `EMBEDDINGS_PROVIDER is missing: ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but without a provider the dev-only hash embedder would be used (set EMBEDDINGS_PROVIDER=openai or local, or hash to keep it)`,
      });
    }
  }

  if (provider === 'openai') {
    const baseUrl = (env.EMBEDDINGS_BASE_URL ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
    if (!env.EMBEDDINGS_MODEL) {
      problems.push({
        name: 'EMBEDDINGS_MODEL',
        text: 'EMBEDDINGS_MODEL is missing: EMBEDDINGS_PROVIDER=openai needs a model name, e.g. text-embedding-3-small',
      });
    }
    if (!env.EMBEDDINGS_API_KEY && new URL(baseUrl).hostname === 'api.openai.com') {
      problems.push({
        name: 'EMBEDDINGS_API_KEY',
        text: `EMBEDDINGS_API_KEY is missing: ${baseUrl} needs an API key (set EMBEDDINGS_BASE_URL for a server without one, e.g. Ollama)`,
      });
    }
    config = {
      provider,
      baseUrl,
      apiKey: env.EMBEDDINGS_API_KEY,
      model: env.EMBEDDINGS_MODEL ?? '',
      sendDimensions: env.EMBEDDINGS_SEND_DIMENSIONS ?? true,
      batchSize: env.EMBEDDINGS_BATCH_SIZE ?? 128,
      maxRetries: env.EMBEDDINGS_MAX_RETRIES ?? 2,
    };
  } else if (provider === 'local') {
    if (!env.EMBEDDINGS_MODEL_DIR) {
      problems.push({
        name: 'EMBEDDINGS_MODEL_DIR',
        text: 'EMBEDDINGS_MODEL_DIR is missing: EMBEDDINGS_PROVIDER=local needs the directory of a downloaded model (tokenizer.json and an .onnx file)',
      });
    }
    config = {
      provider,
      modelDir: (env.EMBEDDINGS_MODEL_DIR ?? '').replace(/(.)[\\/]+$/, '$1'),
      modelFile: env.EMBEDDINGS_MODEL_FILE,
      batchSize: env.EMBEDDINGS_BATCH_SIZE ?? 8,
    };
  } else if (provider === 'supabase') {
    if (env.EMBEDDINGS_MODEL !== undefined && env.EMBEDDINGS_MODEL !== 'gte-small') {
      problems.push({
        name: 'EMBEDDINGS_MODEL',
        text: 'EMBEDDINGS_MODEL is malformed: Supabase.ai only embeds with gte-small (unset it or set gte-small)',
      });
    }
    config = { provider };
  }

  if (problems.length > 0) {
    throw new EnvError(
      [...new Set(problems.map((p) => p.name))],
      `Invalid environment: ${problems.map((p) => p.text).join('; ')}`,
    );
  }
  return config;
}
