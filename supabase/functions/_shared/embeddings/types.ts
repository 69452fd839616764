/** Width of every embedding: `document_chunks.embedding` is `extensions.vector(384)` (cosine distance). */
export const EMBEDDING_DIMENSIONS = 384;

/** Options of {@link Embedder.embed}. */
export interface EmbedOptions {
  /** Cancels the call; the promise then rejects with the signal's reason (an `AbortError` by default). */
  signal?: AbortSignal;
}

/** Turns texts into vectors for `document_chunks.embedding` and for search queries. */
export interface Embedder {
  /**
   * Stable identity of the vector space, recorded on every embedded document: `hash-dev-v1`,
   * `openai:<model>`, `supabase:gte-small`, `local:<model dir name>`. Vectors with different ids are not
   * comparable, so a changed id means the worker must re-embed.
   */
  readonly id: string;
  readonly dimensions: typeof EMBEDDING_DIMENSIONS;
  /**
   * Embeds `texts` and returns one vector per text, in the same order. Every vector has
   * {@link EMBEDDING_DIMENSIONS} finite numbers and unit length, ready for cosine distance. An empty list
   * returns `[]` without any work. Failures are {@link EmbeddingError}s, except cancellation (see
   * {@link EmbedOptions.signal}).
   */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<number[][]>;
}

/** Stable codes of embedding failures (a closed union), for logs and for the worker's retry decision. */
export type EmbeddingErrorCode =
  /** 429 from the API: retryable. */
  | 'rate_limited'
  /** 429 `insufficient_quota`: the account is out of credit, so retrying soon is pointless. */
  | 'quota_exceeded'
  /** 408, 409 or 5xx from the API, after the retries were used up: retryable. */
  | 'provider_unavailable'
  /** The API could not be reached (refused, reset, DNS), after the retries were used up: retryable. */
  | 'network_error'
  /** 401/403: the API key is missing, wrong or lacks access. */
  | 'unauthorized'
  /** 404: wrong base URL or unknown model. */
  | 'not_found'
  /** Any other 4xx: the API refused the request (unknown model, unsupported `dimensions`, input too long). */
  | 'bad_request'
  /** The model answered with vectors that are not {@link EMBEDDING_DIMENSIONS} wide. */
  | 'invalid_dimensions'
  /** The answer could not be used: not JSON, wrong count, missing or duplicate indexes, non-finite or zero vectors. */
  | 'invalid_response'
  /** The in-process model (`supabase`, `local`) failed to run: retryable, since memory pressure is the usual cause. */
  | 'inference_failed';

/** Options of an {@link EmbeddingError} beyond code and message. */
export interface EmbeddingErrorOptions {
  /** Whether the same call may succeed later (rate limits, outages, network); false for bad keys, models, input. */
  retryable: boolean;
  /** HTTP status of the API answer, when there was one. */
  status?: number;
  cause?: unknown;
}

/**
 * A failed {@link Embedder.embed} call. `retryable` tells the worker whether to requeue the job (with its
 * backoff) or to fail the document at once; `code` is stable for logs and tests.
 */
export class EmbeddingError extends Error {
  readonly retryable: boolean;
  readonly status?: number;

  constructor(
    readonly code: EmbeddingErrorCode,
    message: string,
    options: EmbeddingErrorOptions,
  ) {
    super(message, { cause: options.cause });
    this.name = 'EmbeddingError';
    this.retryable = options.retryable;
    this.status = options.status;
  }
}
