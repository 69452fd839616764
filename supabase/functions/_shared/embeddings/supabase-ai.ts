import { EnvError } from '../env.ts';
import { EMBEDDING_DIMENSIONS, type Embedder, EmbeddingError } from './types.ts';
import { checkedUnitVector } from './vector.ts';

/** Options of `Supabase.ai.Session#run`, as `@supabase/functions-js`' `edge-runtime.d.ts` declares them. */
export interface SupabaseAiRunOptions {
  /** Mean-pool the token vectors (gte-small only). */
  mean_pool?: boolean;
  /** L2-normalise the result (gte-small only). */
  normalize?: boolean;
  signal?: AbortSignal;
}

/** A `Supabase.ai.Session`: one loaded model, reused across calls. */
export interface SupabaseAiSession {
  run(prompt: string, modelOptions?: SupabaseAiRunOptions): unknown;
}

/** The part of the edge runtime's `Supabase` global this module uses; entry files pass `globalThis.Supabase`. */
export interface SupabaseRuntime {
  ai: { Session: new (model: string) => SupabaseAiSession };
}

const MODEL = 'gte-small';

/**
 * The `supabase` embedder: the edge runtime's built-in gte-small (`new Supabase.ai.Session('gte-small')`, one
 * session for the embedder's lifetime), one text per `run` with `{ mean_pool: true, normalize: true }`. Fails
 * with an {@link EnvError} naming `EMBEDDINGS_PROVIDER` when `runtime` has no `ai.Session`, i.e. outside
 * Supabase's edge runtime (plain Deno, Node, the lite stack).
 */
export function createSupabaseAiEmbedder(runtime: SupabaseRuntime | undefined): Embedder {
  if (typeof runtime?.ai?.Session !== 'function') {
    throw new EnvError(
      ['EMBEDDINGS_PROVIDER'],
      'Invalid environment: EMBEDDINGS_PROVIDER=supabase needs the Supabase edge runtime (Supabase.ai), which this ' +
        'process does not have (plain Deno, Node or the lite stack); choose hash, openai or local here',
    );
  }
  const session = new runtime.ai.Session(MODEL);
  const source = `Supabase.ai ${MODEL}`;
  return {
    id: `supabase:${MODEL}`,
    dimensions: EMBEDDING_DIMENSIONS,
    async embed(texts, options = {}) {
      const { signal } = options;
      const vectors: number[][] = [];
      // The runtime takes one text per call, and runs them on the same CPU anyway, so one at a time.
      for (const text of texts) {
        signal?.throwIfAborted();
        let output: unknown;
        try {
          output = await session.run(text, { mean_pool: true, normalize: true, ...(signal ? { signal } : {}) });
        } catch (error) {
          if (signal?.aborted) throw signal.reason;
          const message = error instanceof Error ? error.message : String(error);
          throw new EmbeddingError('inference_failed', `${source} failed: ${message}`, { retryable: true, cause: error });
        }
        if (!isNumberList(output)) {
          throw new EmbeddingError('invalid_response', `${source} returned something other than a list of numbers.`, {
            retryable: false,
          });
        }
        vectors.push(
          checkedUnitVector(output, source, (width) => `${source} returned ${width} dimensions instead of ${EMBEDDING_DIMENSIONS}.`),
        );
      }
      return vectors;
    },
  };
}

function isNumberList(value: unknown): value is ArrayLike<number> {
  if (value instanceof Float32Array || value instanceof Float64Array) return true;
  return Array.isArray(value) && value.every((item) => typeof item === 'number');
}
