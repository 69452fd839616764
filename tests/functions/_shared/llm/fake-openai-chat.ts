/**
 * A local stand-in for the OpenAI chat-completions API (`POST /v1/chat/completions`) speaking its wire format.
 * Streaming requests (`stream: true`) get `text/event-stream`: one `chat.completion.chunk` per scripted token
 * (the first delta also carries `role: "assistant"`), a chunk with the finish reason, a usage chunk
 * (`choices: []`) when `stream_options.include_usage` is set, then `data: [DONE]`. Other requests get one
 * `chat.completion` object. Errors are `{error:{message, type, param, code}}`.
 *
 * Each request follows a {@link FakeChatScript}: the tokens, a delay between them, a gate holding the stream open
 * after the first token, an HTTP error, a connection broken mid-answer, or no answer at all. Every request is
 * recorded with its headers and JSON body, whether the client went away before the end, and when the fake wrote
 * its first content chunk, so the chat function's tests and the benchmark can start it from Node and compare.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A chat-completions request body, as far as tests look at it. */
export interface ChatCompletionRequestBody {
  model: string;
  messages: Array<{ role: string; content: unknown; [key: string]: unknown }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  max_tokens?: number;
  temperature?: number;
  [key: string]: unknown;
}

/** One request as the fake received it, updated while it answers. */
export interface RecordedChatRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: ChatCompletionRequestBody;
  /** `performance.now()` when the request body had arrived. */
  receivedAt: number;
  /** `performance.now()` when the first content chunk was written (streaming) or the answer sent; unset before. */
  firstTokenAt?: number;
  /** The fake's own time to first token, `firstTokenAt - receivedAt`; unset before the first content chunk. */
  timeToFirstTokenMs?: number;
  /** The fake wrote its whole answer (through `[DONE]` when streaming). */
  completed: boolean;
  /**
   * The client closed the connection before the answer was complete (an abort or timeout on its side); not set
   * when the script broke the connection or the fake was closed.
   */
  aborted: boolean;
  /** Settles when the exchange is over: answer complete, client gone, or connection broken by the script. */
  closed: Promise<void>;
}

/** An error answer: the HTTP status and the OpenAI error object (defaults by status). */
export interface FakeChatError {
  status: number;
  message?: string;
  type?: string;
  code?: string | null;
  headers?: Record<string, string>;
}

/** How the fake answers one request; every field is optional. */
export interface FakeChatScript {
  /** The content pieces, one chunk each when streaming, joined otherwise. Default {@link DEFAULT_TOKENS}. */
  tokens?: string[];
  /** Pause before every token after the first, in milliseconds. Default 0. */
  delayMs?: number;
  /** Hold the stream open after the first token until this settles (streaming only). */
  gate?: PromiseLike<unknown>;
  /** Answer with this HTTP error instead. */
  error?: FakeChatError;
  /**
   * Destroy the connection after this many tokens have been written (0: right after the headers; the number of
   * tokens or more: before the finish chunk). Non-streaming answers are cut off mid-body.
   */
  breakAfter?: number;
  /** Never answer (not even headers), until the client gives up or the fake is closed. */
  hang?: boolean;
  /** `finish_reason` of the last choice chunk. Default `stop`. */
  finishReason?: string;
  /** Usage to report. Default: whitespace-separated words of the messages, and the number of tokens. */
  usage?: { prompt_tokens: number; completion_tokens: number };
}

/** Decides the script for the `n`-th request (0-based); or one script for every request. */
export type FakeChatHandler = FakeChatScript | ((request: RecordedChatRequest, n: number) => FakeChatScript);

/** A running fake; `baseUrl` is what LLM_BASE_URL would be (`http://127.0.0.1:<port>/v1`). */
export interface FakeOpenAIChat {
  baseUrl: string;
  requests: RecordedChatRequest[];
  close(): Promise<void>;
}

/** The tokens the fake streams when a script names none. */
export const DEFAULT_TOKENS = ['Hello', ' from', ' the', ' fake', ' model', '.'];

const ERROR_DEFAULTS: Record<number, { message: string; type: string; code: string | null }> = {
  400: { message: 'Invalid request.', type: 'invalid_request_error', code: null },
  401: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' },
  404: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  429: { message: 'Rate limit reached for requests.', type: 'requests', code: 'rate_limit_exceeded' },
  500: { message: 'The server had an error while processing your request.', type: 'server_error', code: null },
};

/** A script answering with HTTP `status` and the OpenAI error body for it (overridable). */
export function errorScript(status: number, error: Omit<FakeChatError, 'status'> = {}): FakeChatScript {
  return { error: { status, ...error } };
}

/** Whitespace-separated words of every message's text, the fake's stand-in for prompt tokens. */
function countPromptWords(body: ChatCompletionRequestBody): number {
  const text = (body.messages ?? [])
    .map((message) =>
      typeof message.content === 'string'
        ? message.content
        : Array.isArray(message.content)
          ? message.content.map((part: { text?: unknown }) => (typeof part?.text === 'string' ? part.text : '')).join(' ')
          : '',
    )
    .join(' ');
  return text.split(/\s+/).filter(Boolean).length;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: FakeChatError): void {
  const defaults = ERROR_DEFAULTS[error.status] ?? ERROR_DEFAULTS[error.status >= 500 ? 500 : 400];
  sendJson(
    res,
    error.status,
    {
      error: {
        message: error.message ?? defaults.message,
        type: error.type ?? defaults.type,
        param: null,
        code: error.code === undefined ? defaults.code : error.code,
      },
    },
    error.headers,
  );
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the fake on a free port of 127.0.0.1; `handler` scripts each answer (default: {@link DEFAULT_TOKENS}). */
export async function startFakeOpenAIChat(handler: FakeChatHandler = {}): Promise<FakeOpenAIChat> {
  const requests: RecordedChatRequest[] = [];
  let served = 0;
  let closing = false;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        sendError(res, { status: 404, message: `Unknown request URL: ${req.method} ${req.url}`, code: 'unknown_url' });
        return;
      }
      let body: ChatCompletionRequestBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        sendError(res, { status: 400, message: 'We could not parse the JSON body of your request.' });
        return;
      }

      let brokenByScript = false;
      let settle!: () => void;
      const record: RecordedChatRequest = {
        method: req.method,
        path: req.url,
        headers: req.headers,
        body,
        receivedAt: performance.now(),
        completed: false,
        aborted: false,
        closed: new Promise<void>((resolve) => (settle = resolve)),
      };
      res.on('close', () => {
        if (!record.completed && !brokenByScript && !closing) record.aborted = true;
        settle();
      });
      res.on('finish', () => {
        record.completed = true;
      });
      requests.push(record);
      const n = served++;
      const script = typeof handler === 'function' ? handler(record, n) : handler;
      const markFirstToken = () => {
        record.firstTokenAt = performance.now();
        record.timeToFirstTokenMs = record.firstTokenAt - record.receivedAt;
      };
      const breakConnection = () => {
        brokenByScript = true;
        res.destroy();
      };

      if (script.hang) return;
      if (script.error) {
        sendError(res, script.error);
        return;
      }

      const tokens = script.tokens ?? DEFAULT_TOKENS;
      const id = `chatcmpl-fake-${n}`;
      const created = Math.floor(Date.now() / 1000);
      const usage = script.usage ?? { prompt_tokens: countPromptWords(body), completion_tokens: tokens.length };
      const fullUsage = { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens };
      const finishReason = script.finishReason ?? 'stop';

      if (!body.stream) {
        const answer = {
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: tokens.join(''), refusal: null }, finish_reason: finishReason }],
          usage: fullUsage,
        };
        if (script.breakAfter !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write(JSON.stringify(answer).slice(0, 20));
          breakConnection();
          return;
        }
        markFirstToken();
        sendJson(res, 200, answer);
        return;
      }

      const event = (payload: Record<string, unknown>) =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, ...payload })}\n\n`;
      void (async () => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.flushHeaders();
        for (let i = 0; i < tokens.length; i++) {
          if (script.breakAfter === i) return breakConnection();
          if (i > 0 && script.delayMs) await sleep(script.delayMs);
          if (res.destroyed) return;
          const delta = i === 0 ? { role: 'assistant', content: tokens[i] } : { content: tokens[i] };
          res.write(event({ choices: [{ index: 0, delta, finish_reason: null }] }));
          if (i === 0) {
            markFirstToken();
            if (script.gate) await script.gate;
          }
        }
        if (res.destroyed) return;
        if (script.breakAfter !== undefined) return breakConnection();
        res.write(event({ choices: [{ index: 0, delta: {}, finish_reason: finishReason }] }));
        if (body.stream_options?.include_usage) res.write(event({ choices: [], usage: fullUsage }));
        res.end('data: [DONE]\n\n');
      })();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        closing = true;
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
