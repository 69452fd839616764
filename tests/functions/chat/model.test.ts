import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { formatSources, parseSources } from '../../../supabase/functions/_shared/llm/sources.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { errorScript, type FakeChatScript, type FakeOpenAIChat, type RecordedChatRequest, startFakeOpenAIChat } from '../_shared/llm/fake-openai-chat.ts';
import {
  ask,
  callChat,
  gate,
  readRest,
  readStream,
  readToFirstDelta,
  shapeOf,
  sourcesOf,
  sseEvents,
  type StreamPart,
  storedMessages,
  textOf,
  uploadReady,
  waitForMessages,
} from './helpers.ts';

// The chat function with LLM_PROVIDER=openai pointed at a fake OpenAI-compatible server: what reaches the model,
// that its tokens reach the client as they come, citations, history, a client that goes away, a model that fails.
// The stack's function environment is fixed at start, so the fake is started first and each test scripts it.
let fake: FakeOpenAIChat;
let stack: Stack;
let script: (request: RecordedChatRequest) => FakeChatScript = () => ({});

beforeAll(async () => {
  fake = await startFakeOpenAIChat((request) => script(request));
  stack = await startTestStack({
    seed: false,
    functions: { env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model' } },
  });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

const INSTRUCTIONS_START = "You answer questions about the user's documents, using only the numbered sources below.";

const GARDEN = '# Garden\n\n## Watering\n\nTomatoes need watering every morning in summer. Basil prefers moist soil but hates wet leaves.\n';

/** A handbook of four sections (one chunk each), all about the warranty, so a question about it retrieves every one. */
const HANDBOOK = [
  '# Handbook',
  '## Warranty period',
  'The warranty covers every device for two years from the date of purchase.',
  '## Warranty claims',
  'Warranty claims are filed online with the receipt and the serial number of the device.',
  '## Warranty exclusions',
  'The warranty does not cover water damage, drops or repairs by third parties.',
  '## Warranty transfers',
  'The warranty stays with the device when it is sold or given away.',
  '',
].join('\n\n');

/** The requests the fake received since `from` (an index into `fake.requests`). */
const requestsSince = (from: number) => fake.requests.slice(from);

/** The chunks of a document as postgres sees them, in order. */
async function chunkTexts(documentId: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ content: string }>('select content from public.document_chunks where document_id = $1 order by chunk_index', [documentId]);
  return rows.map((row) => row.content);
}

describe('the answer streams from the model to the client', () => {
  it('delivers the first text-delta while the model still holds its stream: nothing on the way buffers', async () => {
    const user = await signUpUser(stack, 'pieces');
    await uploadReady(stack, user, 'garden.md', GARDEN);
    const held = gate();
    script = () => ({ tokens: ['Every', ' morning', ' in', ' summer', ' [1]', '.'], gate: held.promise });
    const from = fake.requests.length;

    const response = await ask(stack, user, randomUUID(), 'How often do tomatoes need watering?');
    expect(response.status).toBe(200);
    const next = sseEvents(response.body!);
    const before = await readToFirstDelta(next);
    // The fake has written one token and is waiting on the gate; the client already has it.
    const [request] = requestsSince(from);
    expect(request.completed).toBe(false);
    expect(textOf(before)).toBe('Every');

    held.open();
    const { parts: after, done } = await readRest(next);
    expect(done).toBe(true);
    expect(request.completed).toBe(true);
    const parts = [...before, ...after];
    expect(textOf(parts)).toBe('Every morning in summer [1].');
    expect(shapeOf(parts)).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-end', 'finish-step', 'source-document', 'finish']);
  });

  it("sends the model the grounded system prompt with the caller's passages, then the question", async () => {
    const user = await signUpUser(stack, 'prompt');
    const garden = await uploadReady(stack, user, 'garden.md', GARDEN);
    script = () => ({ tokens: ['Every morning [1].'] });
    const from = fake.requests.length;

    await readStream(await ask(stack, user, randomUUID(), 'How often do tomatoes need watering?'));

    const requests = requestsSince(from);
    expect(requests).toHaveLength(1);
    const [{ path, body }] = requests;
    expect(path).toBe('/v1/chat/completions');
    const sources = [{ id: 1, document: 'garden.md', text: (await chunkTexts(garden))[0] }];
    expect(sources[0].text).toContain('Tomatoes need watering every morning in summer.');
    expect(body).toEqual({
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: expect.stringMatching(new RegExp(`^${INSTRUCTIONS_START.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`)) },
        { role: 'user', content: 'How often do tomatoes need watering?' },
      ],
    });
    const system = body.messages[0].content as string;
    expect(system.endsWith(`\n\n${formatSources(sources)}`)).toBe(true);
    expect(parseSources(system)).toEqual(sources);
  });
});

describe('citations', () => {
  it("only ever point at the caller's own documents, even when another user has the same text", async () => {
    const alice = await signUpUser(stack, 'alice');
    const bob = await signUpUser(stack, 'bob');
    const alicesDoc = await uploadReady(stack, alice, 'alice-handbook.md', HANDBOOK);
    const bobsDoc = await uploadReady(stack, bob, 'bob-handbook.md', HANDBOOK);
    script = () => ({ tokens: ['The warranty lasts two years', ' [1]', ' [2]', ' [3]', '.'] });
    const from = fake.requests.length;

    const question = 'What does the warranty cover?';
    const [alicesChat, bobsChat] = [randomUUID(), randomUUID()];
    const [aliceParts, bobParts] = await Promise.all([
      ask(stack, alice, alicesChat, question).then(readStream),
      ask(stack, bob, bobsChat, question).then(readStream),
    ]);

    for (const [user, chatId, parts, own, name] of [
      [alice, alicesChat, aliceParts.parts, alicesDoc, 'alice-handbook.md'],
      [bob, bobsChat, bobParts.parts, bobsDoc, 'bob-handbook.md'],
    ] as const) {
      const streamed = sourcesOf(parts).map((part) => (part.providerMetadata as { edgebrain: Record<string, unknown> }).edgebrain);
      expect(streamed.map((c) => c.marker)).toEqual([1, 2, 3]);
      expect(streamed.every((c) => c.document_id === own && c.name === name), JSON.stringify(streamed)).toBe(true);
      expect(sourcesOf(parts).every((part) => part.title === name && part.filename === name)).toBe(true);

      const stored = await storedMessages(stack, chatId);
      expect(stored.map((m) => [m.role, m.owner_id])).toEqual([
        ['user', user.id],
        ['assistant', user.id],
      ]);
      expect(stored[1].sources).toEqual(streamed);

      // What the model saw for this user's question: that user's passages only.
      const seen = requestsSince(from).filter((r) => parseSources(r.body.messages[0].content as string).some((s) => s.document === name));
      expect(seen).toHaveLength(1);
      expect(new Set(parseSources(seen[0].body.messages[0].content as string).map((s) => s.document))).toEqual(new Set([name]));
    }
  });
});

describe('history', () => {
  it('condenses a follow-up with the history, answers with the earlier turns, and keeps every message with its usage', async () => {
    const user = await signUpUser(stack, 'history');
    await uploadReady(stack, user, 'garden.md', GARDEN);
    const chatId = randomUUID();
    const answers = ['Tomatoes need water every morning [1].', 'Basil likes moist soil [1].'];
    let turn = 0;
    script = (request) =>
      request.body.stream
        ? { tokens: [answers[turn++]], usage: { prompt_tokens: 300 + turn, completion_tokens: 7 + turn } }
        : { tokens: ['What soil does basil prefer?'] };
    const from = fake.requests.length;

    await readStream(await ask(stack, user, chatId, 'How often do tomatoes need watering?'));
    const first = requestsSince(from);
    // No history yet: nothing to condense.
    expect(first.map((r) => r.body.stream)).toEqual([true]);

    const second = fake.requests.length;
    await readStream(await ask(stack, user, chatId, 'And what does basil like?'));
    const [condense, answer, ...rest] = requestsSince(second);
    expect(rest).toEqual([]);
    expect(condense.body.stream).toBeFalsy();
    expect(condense.body.messages).toEqual([
      { role: 'system', content: expect.stringContaining('Rewrite the last question of this conversation as one standalone question') },
      { role: 'user', content: 'How often do tomatoes need watering?' },
      { role: 'assistant', content: 'Tomatoes need water every morning [1].' },
      { role: 'user', content: 'And what does basil like?' },
    ]);
    expect(answer.body.stream).toBe(true);
    expect(answer.body.messages).toEqual([
      { role: 'system', content: expect.stringContaining(INSTRUCTIONS_START) },
      { role: 'user', content: 'How often do tomatoes need watering?' },
      { role: 'assistant', content: 'Tomatoes need water every morning [1].' },
      { role: 'user', content: 'And what does basil like?' },
    ]);

    const response = await callChat(stack, user, 'GET', `/chats/${chatId}/messages`);
    expect(response.status).toBe(200);
    const { items, next_before } = await response.json();
    expect(next_before).toBeNull();
    const citation = { marker: 1, document_id: expect.any(String), chunk_index: 0, name: 'garden.md', headings: ['Garden', 'Watering'], score: expect.any(Number) };
    const message = (role: string, content: string, extra: Record<string, unknown> = {}) => ({
      id: expect.any(Number),
      role,
      content,
      sources: [],
      status: 'complete',
      prompt_tokens: null,
      completion_tokens: null,
      created_at: expect.any(String),
      ...extra,
    });
    expect(items).toEqual([
      message('user', 'How often do tomatoes need watering?'),
      message('assistant', answers[0], { sources: [citation], prompt_tokens: 301, completion_tokens: 8 }),
      message('user', 'And what does basil like?'),
      message('assistant', answers[1], { sources: [citation], prompt_tokens: 302, completion_tokens: 9 }),
    ]);
    expect(items.map((m: { id: number }) => m.id)).toEqual([...items.map((m: { id: number }) => m.id)].sort((a, b) => a - b));
  });
});

describe('a client that goes away', () => {
  it('cancels the model request and keeps what was generated as a stopped answer', async () => {
    const user = await signUpUser(stack, 'abort');
    await uploadReady(stack, user, 'garden.md', GARDEN);
    const held = gate();
    script = () => ({ tokens: ['Every', ' morning', ' [1]', '.'], gate: held.promise });
    const from = fake.requests.length;
    const chatId = randomUUID();
    const client = new AbortController();

    try {
      const response = await ask(stack, user, chatId, 'How often do tomatoes need watering?', {}, client.signal);
      const next = sseEvents(response.body!);
      expect(textOf(await readToFirstDelta(next))).toBe('Every');
      client.abort();

      // The abort travels gateway → runner → Deno → streamText → the model's fetch: the fake sees its client leave
      // while it still holds the stream (it never gets to write the rest).
      const [request] = requestsSince(from);
      await request.closed;
      expect({ aborted: request.aborted, completed: request.completed }).toEqual({ aborted: true, completed: false });

      const stored = await waitForMessages(stack, chatId, 2);
      expect(stored.map(({ role, content, status, sources }) => ({ role, content, status, sources }))).toEqual([
        { role: 'user', content: 'How often do tomatoes need watering?', status: 'complete', sources: [] },
        { role: 'assistant', content: 'Every', status: 'stopped', sources: [] },
      ]);
    } finally {
      held.open();
    }
  });
});

describe('a model that fails', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUpUser(stack, 'failing');
    await uploadReady(stack, user, 'garden.md', GARDEN);
  });

  it.each([
    ['500', 500],
    ['429', 429],
  ])('ends the stream with an error part after a %s and one retry, and stores the answer as failed', async (_name, status) => {
    script = () => errorScript(status);
    const from = fake.requests.length;
    const chatId = randomUUID();
    const response = await ask(stack, user, chatId, 'How often do tomatoes need watering?');
    expect(response.status).toBe(200);
    expect(await readStream(response)).toEqual({
      parts: [
        { type: 'start', messageId: expect.any(String) },
        { type: 'error', errorText: 'The language model failed to answer. Try again in a moment.' },
      ],
      done: true,
    });
    expect(requestsSince(from).map((r) => r.body.stream)).toEqual([true, true]);
    const stored = await waitForMessages(stack, chatId, 2);
    expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'How often do tomatoes need watering?', status: 'complete' },
      { role: 'assistant', content: '', status: 'failed' },
    ]);
  });

  it('ends the stream with an error part when the connection breaks mid-answer, keeping the text so far as failed', async () => {
    // The fake writes one token, waits for the gate, writes the second and breaks the connection.
    const held = gate();
    script = () => ({ tokens: ['Every', ' morning', ' in', ' summer'], gate: held.promise, breakAfter: 2 });
    const chatId = randomUUID();
    const response = await ask(stack, user, chatId, 'How often do tomatoes need watering?');
    const next = sseEvents(response.body!);
    const first = await readToFirstDelta(next);
    held.open();
    const rest = await readRest(next);
    expect(rest.done).toBe(true);
    const parts = [...first, ...rest.parts];
    expect(parts.filter((part) => part.type === 'error')).toEqual([{ type: 'error', errorText: 'The language model failed to answer. Try again in a moment.' }]);
    expect(parts.some((part) => part.type === 'finish' || part.type === 'source-document')).toBe(false);
    // The first token certainly reached the client; the second may be lost with the connection.
    const text = textOf(parts);
    expect(['Every', 'Every morning']).toContain(text);
    const stored = await waitForMessages(stack, chatId, 2);
    expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
      { role: 'user', content: 'How often do tomatoes need watering?', status: 'complete' },
      { role: 'assistant', content: text, status: 'failed' },
    ]);
  });
});
