import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import type { TestUser } from '../../helpers/stack.ts';
import { uploadFile } from '../upload/helpers.ts';
import { settled } from '../worker/helpers.ts';

/** One part of the AI SDK UI message stream, as the `data:` line carried it. */
export type StreamPart = { type: string; [field: string]: unknown };

/** What `useChat` (`@ai-sdk/react`, through `DefaultChatTransport`) posts for a new question. */
export interface ChatBody {
  id: string;
  messages: Array<{ id: string; role: string; parts: Array<{ type: string; [field: string]: unknown }> }>;
  trigger: 'submit-message' | 'regenerate-message';
  document_ids?: string[];
}

/** The body `useChat` sends to ask `text` in chat `chatId` (one user message: history comes from the server). */
export function questionBody(chatId: string, text: string, extra: Partial<ChatBody> = {}): ChatBody {
  return { id: chatId, messages: [{ id: randomUUID(), role: 'user', parts: [{ type: 'text', text }] }], trigger: 'submit-message', ...extra };
}

/** POSTs a body to `/functions/v1/chat` with the user's bearer token. */
export function postChat(
  stack: Stack,
  user: TestUser | undefined,
  body: unknown,
  options: { signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/chat`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal: options.signal,
  });
}

/** Asks `text` in chat `chatId` (a new UUID: a new chat). */
export function ask(stack: Stack, user: TestUser, chatId: string, text: string, extra: Partial<ChatBody> = {}, signal?: AbortSignal): Promise<Response> {
  return postChat(stack, user, questionBody(chatId, text, extra), { signal });
}

/** Calls one of the chat function's other routes (`/chats…`, `/usage`) as `user`. */
export function callChat(stack: Stack, user: TestUser | undefined, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/chat${path}`, {
    method,
    headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/**
 * Reads an SSE body event by event: each call resolves with the next event's `data` (a parsed JSON part, or the
 * string `[DONE]`), or `undefined` when the body ended. Events are `data: …` lines ended by a blank line; any
 * other field makes the test fail, since the UI message stream sends only `data`.
 */
export function sseEvents(body: ReadableStream<Uint8Array>): () => Promise<StreamPart | '[DONE]' | undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async () => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = event.split('\n');
        expect(lines.every((line) => line.startsWith('data: ')), `an SSE event of data lines only: ${JSON.stringify(event)}`).toBe(true);
        const data = lines.map((line) => line.slice('data: '.length)).join('\n');
        return data === '[DONE]' ? '[DONE]' : (JSON.parse(data) as StreamPart);
      }
      const { value, done } = await reader.read();
      if (done) {
        expect(buffer.trim(), 'nothing after the last complete event').toBe('');
        return undefined;
      }
      buffer += decoder.decode(value, { stream: true });
    }
  };
}

/** A whole UI message stream: its parts in order, and whether it ended with `data: [DONE]` (and nothing after). */
export async function readStream(response: Response): Promise<{ parts: StreamPart[]; done: boolean }> {
  return readRest(sseEvents(response.body!));
}

/** The answer's text: the `text-delta`s joined. */
export function textOf(parts: StreamPart[]): string {
  return parts.filter((part) => part.type === 'text-delta').map((part) => part.delta as string).join('');
}

/** The part types in order, with runs of `text-delta` collapsed to one, e.g. `start, text-start, text-delta, text-end, …`. */
export function shapeOf(parts: StreamPart[]): string[] {
  return parts.map((part) => part.type).filter((type, i, all) => !(type === 'text-delta' && all[i - 1] === 'text-delta'));
}

/** The `source-document` parts. */
export function sourcesOf(parts: StreamPart[]): StreamPart[] {
  return parts.filter((part) => part.type === 'source-document');
}

/** Uploads a file through the upload function and waits until the pipeline has made it ready; its id. */
export async function uploadReady(
  stack: Stack,
  user: TestUser,
  name: string,
  content: string | Uint8Array,
  options: { type?: string; chatId?: string } = {},
): Promise<string> {
  const type = options.type ?? (name.endsWith('.pdf') ? 'application/pdf' : name.endsWith('.md') ? 'text/markdown' : 'text/plain');
  const response = await uploadFile(stack, user, name, content, { type, query: options.chatId ? `?chat_id=${options.chatId}` : undefined });
  expect(response.status, `${name}: ${await response.clone().text()}`).toBe(202);
  const { id } = (await response.json()) as { id: string };
  expect(await settled(stack, id, 60_000)).toMatchObject({ status: 'ready' });
  return id;
}

/** A stored chat message, read as postgres. */
export interface StoredMessage {
  id: number;
  role: string;
  content: string;
  sources: Array<Record<string, unknown>>;
  status: string;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  owner_id: string;
}

/** The chat's messages in order, read as postgres (bypassing RLS). */
export async function storedMessages(stack: Stack, chatId: string): Promise<StoredMessage[]> {
  const { rows } = await stack.db.query<StoredMessage>(
    `select id::int, role, content, sources, status, prompt_tokens, completion_tokens, owner_id::text
       from public.chat_messages where chat_id = $1 order by id`,
    [chatId],
  );
  return rows;
}

/**
 * Waits (polling) until the chat has `count` messages: the answer is stored when its stream ends, which for an
 * aborted stream is after the client has gone.
 */
export async function waitForMessages(stack: Stack, chatId: string, count: number, timeoutMs = 20_000): Promise<StoredMessage[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await storedMessages(stack, chatId);
    if (rows.length >= count) return rows;
    if (Date.now() > deadline) throw new Error(`chat ${chatId} has ${rows.length} messages after ${timeoutMs} ms, expected ${count}: ${JSON.stringify(rows)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A promise with its resolve function outside, to hold the fake's stream open until a test releases it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Reads events up to and including the first `text-delta`; fails if the stream ends first. */
export async function readToFirstDelta(next: () => Promise<StreamPart | '[DONE]' | undefined>): Promise<StreamPart[]> {
  const parts: StreamPart[] = [];
  for (;;) {
    const event = await next();
    if (typeof event !== 'object') throw new Error(`the stream ended before its first text-delta: ${JSON.stringify(parts)}`);
    parts.push(event);
    if (event.type === 'text-delta') return parts;
  }
}

/** Reads the rest of a stream: its parts, and whether it ended with `[DONE]`. */
export async function readRest(next: () => Promise<StreamPart | '[DONE]' | undefined>): Promise<{ parts: StreamPart[]; done: boolean }> {
  const parts: StreamPart[] = [];
  let done = false;
  for (let event = await next(); event !== undefined; event = await next()) {
    expect(done, 'no event after [DONE]').toBe(false);
    if (event === '[DONE]') done = true;
    else parts.push(event);
  }
  return { parts, done };
}
