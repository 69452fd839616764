import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { ask, callChat, postChat, questionBody, readStream, storedMessages, textOf, uploadReady } from './helpers.ts';

// The chats API of the chat function (list, read, rename, delete), who may touch which chat, and the requests
// POST /chat refuses — each checked for what it answers and for what it leaves in the database.
let stack: Stack;
let owner: TestUser;
let stranger: TestUser;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  [owner, stranger] = await Promise.all([signUpUser(stack, 'owner'), signUpUser(stack, 'stranger')]);
  await uploadReady(stack, owner, 'garden.md', '# Garden\n\nTomatoes need watering every morning in summer. Basil prefers moist soil.\n');
});
afterAll(async () => {
  await stack?.stop();
});

/** Asks a question and reads the whole answer; the chat id. */
async function converse(user: TestUser, chatId: string, text: string): Promise<string> {
  const response = await ask(stack, user, chatId, text);
  expect(response.status, await response.clone().text()).toBe(200);
  expect((await readStream(response)).done).toBe(true);
  return chatId;
}

async function expectError(response: Response, status: number, code: string, message: string): Promise<void> {
  expect({ status: response.status, body: await response.json() }).toEqual({ status, body: { error: { code, message } } });
}

/** Everything stored for a user: chats (id and title), messages, and today's question count. */
async function footprint(user: TestUser): Promise<{ chats: Array<{ id: string; title: string }>; messages: number; questions: number }> {
  const chats = await stack.db.query<{ id: string; title: string }>('select id::text, title from public.chats where owner_id = $1 order by id', [user.id]);
  const messages = await stack.db.query<{ n: number }>('select count(*)::int as n from public.chat_messages where owner_id = $1', [user.id]);
  const usage = await stack.db.query<{ n: number }>('select coalesce(sum(daily_requests_count), 0)::int as n from public.user_daily_usage where user_id = $1', [user.id]);
  return { chats: chats.rows, messages: messages.rows[0].n, questions: usage.rows[0].n };
}

const chat = (id: string, title: string) => ({ id, title, created_at: expect.any(String), updated_at: expect.any(String) });

describe('GET /functions/v1/chat/chats', () => {
  it("lists the caller's chats, the most recently active first, titled after their first question", async () => {
    const user = await signUpUser(stack, 'lister');
    const long = 'Could you please tell me how often the tomatoes in the garden need watering in summer?';
    const a = await converse(user, randomUUID(), 'How often do tomatoes need watering?');
    const b = await converse(user, randomUUID(), 'What soil does basil prefer?');
    const c = await converse(user, randomUUID(), long);
    await converse(stranger, randomUUID(), 'Not yours to see?');
    await converse(user, a, 'And in winter?');

    const response = await callChat(stack, user, 'GET', '/chats');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      items: [
        chat(a, 'How often do tomatoes need watering?'),
        chat(c, `${long.slice(0, 59).trimEnd()}…`),
        chat(b, 'What soil does basil prefer?'),
      ],
    });
    const limited = await callChat(stack, user, 'GET', '/chats?limit=1');
    expect(await limited.json()).toEqual({ items: [chat(a, 'How often do tomatoes need watering?')] });
  });
});

describe('GET /functions/v1/chat/chats/{id}/messages', () => {
  it('pages through the messages, newest page first, each page oldest first, with next_before', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    await converse(owner, id, 'What soil does basil prefer?');
    await converse(owner, id, 'Anything about roses?');
    const all = await storedMessages(stack, id);
    expect(all.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant']);
    const ids = all.map((m) => m.id);

    const first = await (await callChat(stack, owner, 'GET', `/chats/${id}/messages?limit=4`)).json();
    expect(first.items.map((m: { id: number }) => m.id)).toEqual(ids.slice(2));
    expect(first.next_before).toBe(ids[2]);
    const second = await (await callChat(stack, owner, 'GET', `/chats/${id}/messages?limit=4&before=${first.next_before}`)).json();
    expect(second).toEqual({
      items: [
        {
          id: ids[0],
          role: 'user',
          content: 'How often do tomatoes need watering?',
          sources: [],
          status: 'complete',
          prompt_tokens: null,
          completion_tokens: null,
          created_at: expect.any(String),
        },
        {
          id: ids[1],
          role: 'assistant',
          content: all[1].content,
          sources: all[1].sources,
          status: 'complete',
          prompt_tokens: all[1].prompt_tokens,
          completion_tokens: all[1].completion_tokens,
          created_at: expect.any(String),
        },
      ],
      next_before: null,
    });
    const whole = await (await callChat(stack, owner, 'GET', `/chats/${id}/messages`)).json();
    expect({ ids: whole.items.map((m: { id: number }) => m.id), next_before: whole.next_before }).toEqual({ ids, next_before: null });
  });

  it('answers 400 validation_failed for a limit out of range', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    const response = await callChat(stack, owner, 'GET', `/chats/${id}/messages?limit=0`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'validation_failed', message: 'The request is invalid.', details: [{ path: 'query.limit', code: 'too_small', message: 'limit must be at least 1' }] },
    });
  });
});

describe('PATCH and DELETE /functions/v1/chat/chats/{id}', () => {
  it('renames a chat', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    const response = await callChat(stack, owner, 'PATCH', `/chats/${id}`, { title: '  Garden questions  ' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(chat(id, 'Garden questions'));
    expect((await footprint(owner)).chats).toContainEqual({ id, title: 'Garden questions' });

    const empty = await callChat(stack, owner, 'PATCH', `/chats/${id}`, { title: '   ' });
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.code).toBe('validation_failed');
  });

  it('deletes a chat with its messages (204), after which it is not found', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    expect(await storedMessages(stack, id)).toHaveLength(2);
    const response = await callChat(stack, owner, 'DELETE', `/chats/${id}`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(await storedMessages(stack, id)).toEqual([]);
    expect((await footprint(owner)).chats.map((c) => c.id)).not.toContain(id);
    await expectError(await callChat(stack, owner, 'GET', `/chats/${id}/messages`), 404, 'chat_not_found', `Chat ${id} was not found.`);
    await expectError(await callChat(stack, owner, 'DELETE', `/chats/${id}`), 404, 'chat_not_found', `Chat ${id} was not found.`);
  });

  it('keeps the documents uploaded into a deleted chat, no longer attached to it', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    const document = await uploadReady(stack, owner, 'attached.md', '# Attached\n\nRoses need pruning in March.\n', { chatId: id });
    expect((await callChat(stack, owner, 'DELETE', `/chats/${id}`)).status).toBe(204);
    const { rows } = await stack.db.query('select status::text, chat_id from public.documents where id = $1', [document]);
    expect(rows).toEqual([{ status: 'ready', chat_id: null }]);
  });
});

describe("another user's chat", () => {
  it('is 404 chat_not_found on every route, POST /chat included, and nothing is written to it', async () => {
    const id = await converse(owner, randomUUID(), 'How often do tomatoes need watering?');
    const ownerBefore = await footprint(owner);
    const strangerBefore = await footprint(stranger);
    const notFound = [404, 'chat_not_found', `Chat ${id} was not found.`] as const;

    await expectError(await callChat(stack, stranger, 'GET', `/chats/${id}/messages`), ...notFound);
    await expectError(await callChat(stack, stranger, 'PATCH', `/chats/${id}`, { title: 'Mine now' }), ...notFound);
    await expectError(await callChat(stack, stranger, 'DELETE', `/chats/${id}`), ...notFound);
    await expectError(await ask(stack, stranger, id, 'What did they ask?'), ...notFound);

    expect(await footprint(owner)).toEqual(ownerBefore);
    // Not even a question is counted for the stranger.
    expect(await footprint(stranger)).toEqual(strangerBefore);
    const listed = await (await callChat(stack, stranger, 'GET', '/chats')).json();
    expect(listed.items.map((c: { id: string }) => c.id)).not.toContain(id);
  });
});

describe('a new chat', () => {
  it('takes two questions sent at once with its new id: both are answered in the one chat', async () => {
    const user = await signUpUser(stack, 'twice');
    const id = randomUUID();
    const responses = await Promise.all([ask(stack, user, id, 'How often do tomatoes need watering?'), ask(stack, user, id, 'What soil does basil prefer?')]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    for (const response of responses) expect(textOf((await readStream(response)).parts)).not.toBe('');
    const stored = await storedMessages(stack, id);
    expect(stored.map((m) => m.role).sort()).toEqual(['assistant', 'assistant', 'user', 'user']);
    expect((await footprint(user)).chats.map((c) => c.id)).toEqual([id]);
  });
});

describe('POST /functions/v1/chat refuses', () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUpUser(stack, 'refused');
  });

  /** Every refusal below leaves nothing behind: no chat, no message, no question counted. */
  async function expectNothingWritten(): Promise<void> {
    expect(await footprint(user)).toEqual({ chats: [], messages: 0, questions: 0 });
  }

  it('a chat id that is not a UUID: 400 validation_failed naming the field', async () => {
    const response = await postChat(stack, user, questionBody('chat-1', 'How often do tomatoes need watering?'));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'json.id', code: 'invalid_format', message: 'id must be the chat id, a UUID' }],
      },
    });
    const route = await callChat(stack, user, 'GET', '/chats/chat-1/messages');
    expect(route.status).toBe(400);
    expect((await route.json()).error.code).toBe('validation_failed');
    await expectNothingWritten();
  });

  it.each([
    ['an empty question', questionBody(randomUUID(), '   ')],
    ['a message without text parts', { ...questionBody(randomUUID(), ''), messages: [{ id: 'm1', role: 'user', parts: [{ type: 'file', url: 'x' }] }] }],
    [
      'an assistant message last',
      {
        ...questionBody(randomUUID(), ''),
        messages: [
          { id: 'm1', role: 'user', parts: [{ type: 'text', text: 'How often do tomatoes need watering?' }] },
          { id: 'm2', role: 'assistant', parts: [{ type: 'text', text: 'Every morning.' }] },
        ],
      },
    ],
  ])('%s: 400 invalid_question', async (_case, body) => {
    await expectError(await postChat(stack, user, body), 400, 'invalid_question', 'The last message must be a user message with text.');
    await expectNothingWritten();
  });

  it('a question over 4000 characters: 400 invalid_question', async () => {
    await expectError(
      await ask(stack, user, randomUUID(), 'why '.repeat(1001)),
      400,
      'invalid_question',
      'The question is longer than 4000 characters.',
    );
    await expectNothingWritten();
  });

  it('a request without a token (401 missing_authorization) or with a forged one (401 invalid_token)', async () => {
    await expectError(await postChat(stack, undefined, questionBody(randomUUID(), 'Hello?')), 401, 'missing_authorization', 'Authorization header is required.');
    const forged = await postChat(stack, undefined, questionBody(randomUUID(), 'Hello?'), { headers: { authorization: `Bearer ${user.token.slice(0, -4)}AAAA` } });
    expect(forged.status).toBe(401);
    expect((await forged.json()).error.code).toBe('invalid_token');
    for (const [method, path] of [['GET', '/chats'], ['GET', '/usage'], ['DELETE', `/chats/${randomUUID()}`]]) {
      expect((await callChat(stack, undefined, method, path)).status, `${method} ${path}`).toBe(401);
    }
    await expectNothingWritten();
  });

  it('a body over 1 MiB: 413 payload_too_large', async () => {
    const body = JSON.stringify({ ...questionBody(randomUUID(), 'Hello?'), padding: 'x'.repeat(1024 * 1024) });
    await expectError(await postChat(stack, user, body), 413, 'payload_too_large', 'The request body is larger than 1 MiB.');
    await expectNothingWritten();
  });

  // Retried: on a loaded machine the lite stack's gateway (@hono/node-server) sometimes closes the socket while a
  // chunked body the function refused is still arriving (it drains unread bodies for 500 ms only); the client
  // then sees "other side closed" instead of the 413. Hosted Kong buffers request bodies, so it cannot happen there.
  it('a body over 1 MiB sent without a length (chunked): 413 payload_too_large, while a smaller one is answered', { retry: 2 }, async () => {
    /** POSTs the body in 64 KiB chunks without a Content-Length, as a streaming client does. */
    const postChunked = (body: unknown) => {
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let offset = 0; offset < bytes.length; offset += 64 * 1024) controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
          controller.close();
        },
      });
      return fetch(`${stack.apiUrl}/functions/v1/chat`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.token}` },
        body: stream,
        duplex: 'half',
      } as RequestInit);
    };
    const tooLarge = await postChunked({ ...questionBody(randomUUID(), 'Hello?'), padding: 'x'.repeat(1024 * 1024) });
    await expectError(tooLarge, 413, 'payload_too_large', 'The request body is larger than 1 MiB.');
    await expectNothingWritten();

    const chatId = randomUUID();
    const small = await postChunked({ ...questionBody(chatId, 'How often do tomatoes need watering?'), padding: 'x'.repeat(512 * 1024) });
    expect(small.status).toBe(200);
    expect((await readStream(small)).done).toBe(true);
    expect((await footprint(user)).chats).toEqual([{ id: chatId, title: 'How often do tomatoes need watering?' }]);
  });
});
