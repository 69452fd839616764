/**
 * A local stand-in for the OpenAI embeddings API (`POST /v1/embeddings`) speaking its wire format: requests
 * `{model, input: string[], dimensions?, encoding_format?}`, answers
 * `{object:"list", data:[{object:"embedding", index, embedding}], model, usage}` and errors
 * `{error:{message, type, code}}`. Each test scripts the answers; every request is recorded.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the server received it. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { model: string; input: string[]; dimensions?: number; encoding_format?: string; [key: string]: unknown };
}

/** What the server sends back for one request. */
export interface FakeAnswer {
  status?: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** Decides the answer to the `n`-th request (0-based). */
export type FakeHandler = (request: RecordedRequest, n: number) => FakeAnswer;

/** A running fake; `baseUrl` is what EMBEDDINGS_BASE_URL would be (`http://127.0.0.1:<port>/v1`). */
export interface FakeOpenAI {
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A deterministic, non-normalised vector for `text`, so tests can tell which text a vector belongs to. */
export function fakeVector(text: string, dimensions: number): number[] {
  let h = 2166136261;
  for (const char of text) h = Math.imul(h ^ char.codePointAt(0)!, 16777619) >>> 0;
  return Array.from({ length: dimensions }, (_, i) => ((h >>> i % 24) & 0xff) - 127.5 + i / dimensions);
}

/** The vector `fakeVector` gives, scaled to unit length like the embedder returns it. */
export function unitFakeVector(text: string, dimensions: number): number[] {
  const vector = fakeVector(text, dimensions);
  const norm = Math.hypot(...vector);
  return vector.map((value) => value / norm);
}

/**
 * A successful answer embedding every input with {@link fakeVector}: `dimensions` wide when requested, else
 * `nativeDimensions` (text-embedding-3-small's 1536 by default). `order` lists the input indexes in the order
 * the `data` items are sent.
 */
export function embeddingsAnswer(
  request: RecordedRequest,
  options: { nativeDimensions?: number; order?: number[] } = {},
): FakeAnswer {
  const dimensions = request.body.dimensions ?? options.nativeDimensions ?? 1536;
  const order = options.order ?? request.body.input.map((_, i) => i);
  const tokens = request.body.input.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
  return {
    body: {
      object: 'list',
      data: order.map((index) => ({ object: 'embedding', index, embedding: fakeVector(request.body.input[index], dimensions) })),
      model: request.body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    },
  };
}

/** An OpenAI error answer. */
export function errorAnswer(
  status: number,
  error: { message: string; type: string; code: string | null },
  headers: Record<string, string> = {},
): FakeAnswer {
  return { status, headers, body: { error: { ...error, param: null } } };
}

/** Starts the fake on a free port of 127.0.0.1. */
export async function startFakeOpenAI(handler: FakeHandler): Promise<FakeOpenAI> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const send = (answer: FakeAnswer) => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
        res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
      };
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') {
        send(errorAnswer(404, { message: `Unknown request URL: ${req.method} ${req.url}`, type: 'invalid_request_error', code: 'unknown_url' }));
        return;
      }
      const request: RecordedRequest = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      };
      requests.push(request);
      send(handler(request, requests.length - 1));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
