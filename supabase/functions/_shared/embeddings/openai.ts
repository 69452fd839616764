import { createOpenAICompatible, type OpenAICompatibleProvider } from '@ai-sdk/openai-compatible';
import { APICallError, embedMany, InvalidResponseDataError, RetryError } from 'ai';
import type { OpenAIEmbeddingsConfig } from './config.ts';
import { EMBEDDING_DIMENSIONS, type Embedder, EmbeddingError } from './types.ts';
import { checkedUnitVector } from './vector.ts';

type EmbeddingModel = ReturnType<OpenAICompatibleProvider['embeddingModel']>;

/** What the `openai` embedder takes besides its config. */
export interface OpenAIEmbedderDeps {
  /** fetch for every request (tests, tracing, proxies); default global fetch. */
  fetch?: typeof fetch;
}

// Batches of one embed() call sent at the same time; more mostly buys 429s.
const PARALLEL_REQUESTS = 2;

/**
 * The `openai` embedder: `POST ${baseUrl}/embeddings` of any OpenAI-compatible API, through the AI SDK
 * (`embedMany` with `@ai-sdk/openai-compatible`). The SDK splits the texts into batches of `batchSize`, sends
 * `dimensions: 384` (unless `sendDimensions` is false) and retries 408/409/429/5xx and network failures up to
 * `maxRetries` times with exponential backoff from 2 s, waiting what `Retry-After`/`retry-after-ms` asks when it
 * is under a minute. This module puts each batch's vectors in `index` order (the SDK keeps array order), checks
 * width and count, and turns failures into {@link EmbeddingError}s.
 */
export function createOpenAIEmbedder(config: OpenAIEmbeddingsConfig, deps: OpenAIEmbedderDeps = {}): Embedder {
  const provider = createOpenAICompatible({
    name: 'embeddings',
    baseURL: config.baseUrl,
    apiKey: config.apiKey,
    fetch: deps.fetch,
  });
  const base = provider.embeddingModel(config.model);
  const widthHint = (width: number) =>
    `Embedding model "${config.model}" returned ${width} dimensions, but the database stores ${EMBEDDING_DIMENSIONS}: ` +
    (config.sendDimensions
      ? `set EMBEDDINGS_MODEL to a model that returns ${EMBEDDING_DIMENSIONS} or can shorten its output (e.g. text-embedding-3-small, all-minilm)`
      : `set EMBEDDINGS_MODEL to a ${EMBEDDING_DIMENSIONS}-dimensional model (e.g. all-minilm), or unset EMBEDDINGS_SEND_DIMENSIONS if it can shorten its output`);
  // Wrapped because the provider has no batch-size option, and so each answer is checked inside the SDK's retry loop.
  const model: EmbeddingModel = {
    specificationVersion: 'v4',
    provider: base.provider,
    modelId: base.modelId,
    maxEmbeddingsPerCall: config.batchSize,
    supportsParallelCalls: true,
    async doEmbed(options) {
      const result = await base.doEmbed(options);
      const embeddings = inIndexOrder(result.embeddings, result.response?.body, options.values.length);
      return {
        ...result,
        embeddings: embeddings.map((vector) => checkedUnitVector(vector, `Embedding model "${config.model}"`, widthHint)),
      };
    },
  };

  return {
    id: `openai:${config.model}`,
    dimensions: EMBEDDING_DIMENSIONS,
    async embed(texts, options = {}) {
      if (texts.length === 0) return [];
      try {
        const { embeddings } = await embedMany({
          model,
          values: [...texts],
          dimensions: config.sendDimensions ? EMBEDDING_DIMENSIONS : undefined,
          maxRetries: config.maxRetries,
          maxParallelCalls: PARALLEL_REQUESTS,
          abortSignal: options.signal,
        });
        return embeddings;
      } catch (error) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw embeddingError(error, config);
      }
    },
  };
}

/**
 * Orders a batch's vectors by the `index` of each item in the raw response (`data[i].index`), which the
 * OpenAI API defines and the SDK ignores. A response without indexes keeps its order; indexes that are not
 * exactly `0…count-1` make the response unusable.
 */
function inIndexOrder(embeddings: number[][], body: unknown, count: number): number[][] {
  if (embeddings.length !== count) {
    throw new EmbeddingError('invalid_response', `Embeddings API returned ${embeddings.length} vectors for ${count} texts.`, {
      retryable: false,
    });
  }
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data) || data.every((item) => (item as { index?: unknown })?.index === undefined)) return embeddings;
  const ordered = new Array<number[] | undefined>(count);
  data.forEach((item, position) => {
    const index = (item as { index?: unknown }).index;
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= count || ordered[index]) {
      throw new EmbeddingError('invalid_response', `Embeddings API returned a missing, duplicate or out-of-range index.`, {
        retryable: false,
      });
    }
    ordered[index] = embeddings[position];
  });
  return ordered as number[][];
}

/** Maps what `embedMany` throws to an {@link EmbeddingError} with a hint naming the variable to fix. */
function embeddingError(error: unknown, config: OpenAIEmbeddingsConfig): EmbeddingError {
  if (error instanceof EmbeddingError) return error;
  if (RetryError.isInstance(error)) {
    const last = embeddingError(error.lastError, config);
    if (error.reason !== 'maxRetriesExceeded') return last;
    return new EmbeddingError(last.code, `${last.message} (gave up after ${error.errors.length} attempts)`, {
      retryable: last.retryable,
      status: last.status,
      cause: error,
    });
  }
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const said = `Embeddings API at ${config.baseUrl} answered ${status}: ${error.message}`;
    const options = { status, cause: error };
    if (status === undefined) {
      if (error.isRetryable) {
        return new EmbeddingError('network_error', `Embeddings API at ${config.baseUrl} could not be reached: ${error.message}`, {
          ...options,
          retryable: true,
        });
      }
      return new EmbeddingError('invalid_response', `Embeddings API at ${config.baseUrl} sent an unusable answer: ${error.message}`, {
        ...options,
        retryable: false,
      });
    }
    if (status === 429) {
      const code = (error.data as { error?: { code?: unknown } } | undefined)?.error?.code;
      if (code === 'insufficient_quota') {
        return new EmbeddingError('quota_exceeded', `${said} (add credit to the account of EMBEDDINGS_API_KEY)`, { ...options, retryable: false });
      }
      return new EmbeddingError('rate_limited', said, { ...options, retryable: true });
    }
    if (status === 408 || status === 409 || status >= 500) {
      return new EmbeddingError('provider_unavailable', said, { ...options, retryable: true });
    }
    if (status === 401 || status === 403) {
      return new EmbeddingError('unauthorized', `${said} (check EMBEDDINGS_API_KEY)`, { ...options, retryable: false });
    }
    if (status === 404) {
      return new EmbeddingError('not_found', `${said} (check EMBEDDINGS_BASE_URL and EMBEDDINGS_MODEL)`, { ...options, retryable: false });
    }
    if (status >= 400 && status < 500) {
      const hint = config.sendDimensions
        ? 'check EMBEDDINGS_MODEL, or set EMBEDDINGS_SEND_DIMENSIONS=false if the server rejects "dimensions"'
        : 'check EMBEDDINGS_MODEL';
      return new EmbeddingError('bad_request', `${said} (${hint})`, { ...options, retryable: false });
    }
    return new EmbeddingError('invalid_response', said, { ...options, retryable: false });
  }
  if (InvalidResponseDataError.isInstance(error)) {
    return new EmbeddingError('invalid_response', `Embeddings API sent an unusable answer: ${error.message}`, {
      retryable: false,
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new EmbeddingError('invalid_response', `Embedding request failed: ${message}`, { retryable: false, cause: error });
}
