import { randomUUID } from 'node:crypto';
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { EXTRACTIVE_MODE_LINE, EXTRACTIVE_NO_ANSWER } from '../../../supabase/functions/_shared/llm/extractive.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { textPdf } from '../_shared/ingest/fixtures.ts';
import { ask, callChat, readStream, shapeOf, sourcesOf, textOf, uploadReady } from './helpers.ts';

// The chat function in real Deno behind the gateway, with the offline extractive model (no LLM configured): the
// AI SDK UI message stream it sends, byte for byte what `useChat` reads. Documents go in through the upload
// function and the worker makes them ready on its own (the scheduler is on).
let stack: Stack;
let user: TestUser;
let garden: string;
let report: string;

const GARDEN = [
  '# Garden',
  '',
  '## Watering',
  '',
  'Tomatoes need watering every morning in summer. Basil prefers moist soil but hates wet leaves.',
  '',
].join('\n');

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  user = await signUpUser(stack, 'stream');
  garden = await uploadReady(stack, user, 'garden.md', GARDEN);
  report = await uploadReady(
    stack,
    user,
    'report.pdf',
    await textPdf([['Revenue grew twelve percent in the third quarter.'], ['The company hired forty engineers in Lisbon.']]),
  );
});
afterAll(async () => {
  await stack?.stop();
});

describe('POST /functions/v1/chat with the extractive default', () => {
  it('streams start, the answer as text parts, one source-document per cited chunk, finish and [DONE]', async () => {
    const chatId = randomUUID();
    const response = await ask(stack, user, chatId, 'How often do tomatoes need watering?');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(response.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1');
    expect(response.headers.get('x-chat-id')).toBe(chatId);

    const { parts, done } = await readStream(response);
    expect(done).toBe(true);
    expect(shapeOf(parts)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'source-document', 'finish']);
    expect(parts[0]).toEqual({ type: 'start', messageId: expect.any(String) });
    // One delta per word: the answer really arrives in pieces.
    expect(parts.filter((part) => part.type === 'text-delta').length).toBeGreaterThan(10);
    expect(textOf(parts)).toBe(`${EXTRACTIVE_MODE_LINE}\n\n- "Tomatoes need watering every morning in summer." [1]`);
    expect(sourcesOf(parts)).toEqual([
      {
        type: 'source-document',
        sourceId: `${garden}:0`,
        mediaType: 'text/plain',
        title: 'garden.md',
        filename: 'garden.md',
        providerMetadata: {
          edgebrain: { marker: 1, document_id: garden, chunk_index: 0, name: 'garden.md', headings: ['Garden', 'Watering'], score: expect.any(Number) },
        },
      },
    ]);
    expect(parts[parts.length - 1]).toEqual({ type: 'finish', finishReason: 'stop' });
  });

  it('titles a PDF source with its page and keeps the page in the metadata', async () => {
    const { parts } = await readStream(await ask(stack, user, randomUUID(), 'Where did the company hire engineers?'));
    expect(textOf(parts)).toBe(`${EXTRACTIVE_MODE_LINE}\n\n- "The company hired forty engineers in Lisbon." [1]`);
    expect(sourcesOf(parts)).toEqual([
      {
        type: 'source-document',
        sourceId: `${report}:1`,
        mediaType: 'text/plain',
        title: 'report.pdf, page 2',
        filename: 'report.pdf',
        providerMetadata: { edgebrain: { marker: 1, document_id: report, chunk_index: 1, name: 'report.pdf', page: 2, score: expect.any(Number) } },
      },
    ]);
  });

  it('says the documents do not contain the answer, with no sources, when nothing matches', async () => {
    const { parts, done } = await readStream(await ask(stack, user, randomUUID(), 'What is the capital of Mongolia?'));
    expect(done).toBe(true);
    expect(textOf(parts)).toBe(EXTRACTIVE_NO_ANSWER);
    expect(shapeOf(parts)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'finish']);
  });

  it('stores the question and the complete answer with the citations it streamed and token counts', async () => {
    const chatId = randomUUID();
    const { parts } = await readStream(await ask(stack, user, chatId, 'How often do tomatoes need watering?'));
    const response = await callChat(stack, user, 'GET', `/chats/${chatId}/messages`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      items: [
        {
          id: expect.any(Number),
          role: 'user',
          content: 'How often do tomatoes need watering?',
          sources: [],
          status: 'complete',
          prompt_tokens: null,
          completion_tokens: null,
          created_at: expect.any(String),
        },
        {
          id: expect.any(Number),
          role: 'assistant',
          content: textOf(parts),
          sources: sourcesOf(parts).map((part) => (part.providerMetadata as { edgebrain: unknown }).edgebrain),
          status: 'complete',
          prompt_tokens: expect.any(Number),
          completion_tokens: expect.any(Number),
          created_at: expect.any(String),
        },
      ],
      next_before: null,
    });
    expect(body.items[1].prompt_tokens).toBeGreaterThan(0);
    expect(body.items[1].completion_tokens).toBeGreaterThan(0);
  });
});

describe("the AI SDK's own client reads the stream", () => {
  const transport = () =>
    new DefaultChatTransport<UIMessage>({ api: `${stack.apiUrl}/functions/v1/chat`, headers: { authorization: `Bearer ${user.token}` } });

  /** What useChat does for one turn: send every message so far, fold the chunks into the assistant message. */
  async function turn(chatId: string, messages: UIMessage[]): Promise<UIMessage> {
    const stream = await transport().sendMessages({ trigger: 'submit-message', chatId, messageId: undefined, messages, abortSignal: undefined });
    let last: UIMessage | undefined;
    for await (const message of readUIMessageStream<UIMessage>({ stream, terminateOnError: true })) last = message;
    return last!;
  }

  it('assembles the assistant message with its text and sources, and accepts it back as history in the next turn', async () => {
    const chatId = randomUUID();
    const first: UIMessage = { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'How often do tomatoes need watering?' }] };
    const answer = await turn(chatId, [first]);
    expect(answer.role).toBe('assistant');
    expect(answer.parts.filter((part) => part.type !== 'step-start')).toEqual([
      { type: 'text', text: `${EXTRACTIVE_MODE_LINE}\n\n- "Tomatoes need watering every morning in summer." [1]`, state: 'done' },
      {
        type: 'source-document',
        sourceId: `${garden}:0`,
        mediaType: 'text/plain',
        title: 'garden.md',
        filename: 'garden.md',
        providerMetadata: {
          edgebrain: { marker: 1, document_id: garden, chunk_index: 0, name: 'garden.md', headings: ['Garden', 'Watering'], score: expect.any(Number) },
        },
      },
    ]);

    // useChat sends the whole conversation, the assistant message with its source parts included.
    const second: UIMessage = { id: randomUUID(), role: 'user', parts: [{ type: 'text', text: 'Where did the company hire engineers?' }] };
    const next = await turn(chatId, [first, answer, second]);
    expect(next.parts.filter((part) => part.type === 'text')).toEqual([
      { type: 'text', text: `${EXTRACTIVE_MODE_LINE}\n\n- "The company hired forty engineers in Lisbon." [1]`, state: 'done' },
    ]);
    expect(next.parts.filter((part) => part.type === 'source-document').map((part) => (part as { title: string }).title)).toEqual(['report.pdf, page 2']);
    const stored = await (await callChat(stack, user, 'GET', `/chats/${chatId}/messages`)).json();
    expect(stored.items.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
  });
});
