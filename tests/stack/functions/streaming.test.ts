import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

const projectDir = join(import.meta.dirname, '..', '..', 'fixtures', 'functions-project');

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ projectDir });
});

afterAll(async () => {
  await stack?.stop();
});

/** Reads one SSE event (up to the blank line) from a body reader, keeping any rest for the next call. */
function eventReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return async (): Promise<string | undefined> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        return event;
      }
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += decoder.decode(value, { stream: true });
    }
  };
}

it('delivers Server-Sent Events to the client one by one, before the function has produced the next', async () => {
  const response = await fetch(`${stack.apiUrl}/functions/v1/sse/stream`, { headers: { accept: 'text/event-stream' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const next = eventReader(response.body!);

  // Event n+1 is only produced after the client asks for it, so reading event n first proves nothing buffered it.
  expect(await next()).toBe('id: 1\nevent: tick\ndata: {"n":1}');
  const released2 = await fetch(`${stack.apiUrl}/functions/v1/sse/next`, { method: 'POST' });
  expect(await released2.json()).toEqual({ released: true });
  expect(await next()).toBe('id: 2\nevent: tick\ndata: {"n":2}');
  const released3 = await fetch(`${stack.apiUrl}/functions/v1/sse/next`, { method: 'POST' });
  expect(await released3.json()).toEqual({ released: true });
  expect(await next()).toBe('id: 3\nevent: tick\ndata: {"n":3}');
  expect(await next()).toBeUndefined();
});
