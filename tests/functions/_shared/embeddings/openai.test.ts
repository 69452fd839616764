import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createEmbedder,
  type Embedder,
  EmbeddingError,
  embeddingsConfig,
  EmbeddingsEnvSchema,
} from '../../../../supabase/functions/_shared/embeddings/index.ts';
import { parseEnv } from '../../../../supabase/functions/_shared/env.ts';
import { createLogger } from '../../../../supabase/functions/_shared/log.ts';
import {
  embeddingsAnswer,
  errorAnswer,
  type FakeHandler,
  type FakeOpenAI,
  startFakeOpenAI,
  unitFakeVector,
} from './fake-openai.ts';

const API_KEY = 'sk-test-0123456789';
let fake: FakeOpenAI | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  await fake?.close();
  fake = undefined;
});

/** Starts the fake and an `openai` embedder pointed at it, configured like an entry file would. */
async function setup(handler: FakeHandler, env: Record<string, string> = {}): Promise<{ server: FakeOpenAI; embedder: Embedder }> {
  fake = await startFakeOpenAI(handler);
  const config = embeddingsConfig(
    parseEnv(EmbeddingsEnvSchema, {
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_BASE_URL: fake.baseUrl,
      EMBEDDINGS_API_KEY: API_KEY,
      EMBEDDINGS_MODEL: 'text-embedding-3-small',
      ...env,
    }),
  );
  const embedder = await createEmbedder(config, { logger: createLogger({}, () => {}) });
  return { server: fake, embedder };
}

/** Vectors equal up to floating-point rounding (the embedder normalises with its own arithmetic). */
function expectVectors(actual: number[][], expected: number[][]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((vector, i) => {
    expect(vector).toHaveLength(expected[i].length);
    expect(Math.max(...vector.map((value, d) => Math.abs(value - expected[i][d])))).toBeLessThan(1e-12);
  });
}

async function embedError(embedder: Embedder, texts: string[]): Promise<EmbeddingError> {
  const error = await embedder.embed(texts).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof EmbeddingError) return error;
  throw new Error(`expected an EmbeddingError, got ${String(error)}`);
}

const rateLimited = { message: 'Rate limit reached for text-embedding-3-small', type: 'requests', code: 'rate_limit_exceeded' };
const serverError = { message: 'The server had an error while processing your request.', type: 'server_error', code: null };

describe('openai embedder', () => {
  it('sends the model, dimensions 384 and the bearer key to POST /v1/embeddings in batches', async () => {
    const { server, embedder } = await setup((request) => embeddingsAnswer(request), { EMBEDDINGS_BATCH_SIZE: '2' });
    const texts = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

    const vectors = await embedder.embed(texts);

    expect(embedder.id).toBe('openai:text-embedding-3-small');
    expectVectors(vectors, texts.map((text) => unitFakeVector(text, 384)));
    expect(server.requests.map((r) => r.body.input).sort()).toEqual([['alpha', 'beta'], ['epsilon'], ['gamma', 'delta']]);
    for (const request of server.requests) {
      expect(request.method).toBe('POST');
      expect(request.path).toBe('/v1/embeddings');
      expect(request.headers.authorization).toBe(`Bearer ${API_KEY}`);
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 384, encoding_format: 'float' });
    }
  });

  it('sends neither key nor dimensions to a keyless server that returns 384 natively', async () => {
    const { server, embedder } = await setup((request) => embeddingsAnswer(request, { nativeDimensions: 384 }), {
      EMBEDDINGS_API_KEY: '',
      EMBEDDINGS_MODEL: 'all-minilm',
      EMBEDDINGS_SEND_DIMENSIONS: 'false',
    });

    expectVectors(await embedder.embed(['hello']), [unitFakeVector('hello', 384)]);
    expect(server.requests[0].headers.authorization).toBeUndefined();
    expect(server.requests[0].body).not.toHaveProperty('dimensions');
    expect(server.requests[0].body.model).toBe('all-minilm');
  });

  it('returns vectors in input order when the server answers out of order', async () => {
    const { embedder } = await setup((request) =>
      embeddingsAnswer(request, { order: request.body.input.map((_, i) => i).reverse() }),
    );
    const texts = ['first', 'second', 'third', 'fourth'];

    expectVectors(await embedder.embed(texts), texts.map((text) => unitFakeVector(text, 384)));
  });

  it('makes no request for no texts', async () => {
    const { server, embedder } = await setup((request) => embeddingsAnswer(request));
    expect(await embedder.embed([])).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });

  it('retries a 429 after the delay its Retry-After header asks for, then succeeds', async () => {
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const { server, embedder } = await setup((request, n) =>
      n === 0 ? errorAnswer(429, rateLimited, { 'retry-after': '1' }) : embeddingsAnswer(request),
    );

    expectVectors(await embedder.embed(['patience']), [unitFakeVector('patience', 384)]);
    expect(server.requests).toHaveLength(2);
    const delays = setTimeoutSpy.mock.calls.map((call) => call[1]);
    // 1000 ms is Retry-After: 1; without the header the SDK would have waited its own 2000 ms.
    expect(delays).toContain(1000);
    expect(delays).not.toContain(2000);
  });

  it('gives up on repeated 500s with a retryable error after 1 + EMBEDDINGS_MAX_RETRIES attempts', async () => {
    // Retry-After: 0 only keeps the test fast; the attempts are what is checked.
    const { server, embedder } = await setup(() => errorAnswer(500, serverError, { 'retry-after': '0' }), { EMBEDDINGS_MAX_RETRIES: '2' });

    const error = await embedError(embedder, ['doomed']);

    expect(server.requests).toHaveLength(3);
    expect(error).toMatchObject({ code: 'provider_unavailable', retryable: true, status: 500 });
    expect(error.message).toContain('answered 500: The server had an error while processing your request.');
    expect(error.message).toContain('gave up after 3 attempts');
  });

  it('fails at once with a permanent error naming EMBEDDINGS_API_KEY on 401', async () => {
    const { server, embedder } = await setup(() =>
      errorAnswer(401, { message: 'Incorrect API key provided: sk-test-***6789.', type: 'invalid_request_error', code: 'invalid_api_key' }),
    );

    const error = await embedError(embedder, ['secret']);

    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'unauthorized', retryable: false, status: 401 });
    expect(error.message).toContain('check EMBEDDINGS_API_KEY');
    expect(error.message).not.toContain(API_KEY);
  });

  it('fails at once with a permanent error on 400, hinting at EMBEDDINGS_SEND_DIMENSIONS', async () => {
    const { embedder } = await setup(() =>
      errorAnswer(400, { message: 'This model does not support specifying dimensions.', type: 'invalid_request_error', code: null }),
    );

    const error = await embedError(embedder, ['x']);

    expect(error).toMatchObject({ code: 'bad_request', retryable: false, status: 400 });
    expect(error.message).toContain('EMBEDDINGS_SEND_DIMENSIONS=false');
  });

  it('treats 429 insufficient_quota as permanent', async () => {
    const { embedder } = await setup(() =>
      errorAnswer(
        429,
        { message: 'You exceeded your current quota.', type: 'insufficient_quota', code: 'insufficient_quota' },
        { 'retry-after': '0' },
      ),
    );

    expect(await embedError(embedder, ['x'])).toMatchObject({ code: 'quota_exceeded', retryable: false, status: 429 });
  });

  it('rejects vectors of the wrong width with an error naming the model and EMBEDDINGS_MODEL', async () => {
    const { server, embedder } = await setup((request) => embeddingsAnswer({ ...request, body: { ...request.body, dimensions: undefined } }), {
      EMBEDDINGS_MODEL: 'text-embedding-ada-002',
    });

    const error = await embedError(embedder, ['wide']);

    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ code: 'invalid_dimensions', retryable: false });
    expect(error.message).toContain('"text-embedding-ada-002" returned 1536 dimensions, but the database stores 384');
    expect(error.message).toContain('set EMBEDDINGS_MODEL');
  });

  it('rejects an answer with fewer vectors than texts', async () => {
    const { embedder } = await setup((request) => embeddingsAnswer(request, { order: [0] }));

    expect(await embedError(embedder, ['one', 'two'])).toMatchObject({ code: 'invalid_response', retryable: false });
  });

  it('reports an unreachable server as a retryable network error', async () => {
    const { server, embedder } = await setup((request) => embeddingsAnswer(request), { EMBEDDINGS_MAX_RETRIES: '0' });
    await server.close();
    fake = undefined;

    expect(await embedError(embedder, ['anyone there'])).toMatchObject({ code: 'network_error', retryable: true });
  });

  it('stops waiting for a retry when the signal aborts, rejecting with the abort reason', async () => {
    const controller = new AbortController();
    const { server, embedder } = await setup((request, n) => {
      if (n > 0) return embeddingsAnswer(request);
      setImmediate(() => controller.abort());
      return errorAnswer(429, rateLimited, { 'retry-after': '30' });
    });

    await expect(embedder.embed(['later'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(server.requests).toHaveLength(1);
  });

  it('uses an injected fetch for every request', async () => {
    fake = await startFakeOpenAI((request) => embeddingsAnswer(request));
    const seen: string[] = [];
    const config = embeddingsConfig(
      parseEnv(EmbeddingsEnvSchema, {
        EMBEDDINGS_PROVIDER: 'openai',
        EMBEDDINGS_BASE_URL: 'http://embeddings.invalid/v1',
        EMBEDDINGS_MODEL: 'text-embedding-3-small',
      }),
    );
    const target = fake.baseUrl;
    const embedder = await createEmbedder(config, {
      logger: createLogger({}, () => {}),
      fetch: (input, init) => {
        const url = String(input instanceof Request ? input.url : input);
        seen.push(url);
        return fetch(url.replace('http://embeddings.invalid/v1', target), init);
      },
    });

    expectVectors(await embedder.embed(['routed']), [unitFakeVector('routed', 384)]);
    expect(seen).toEqual(['http://embeddings.invalid/v1/embeddings']);
  });
});
