import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { parseSources } from '../../../supabase/functions/_shared/llm/sources.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { type FakeOpenAIChat, startFakeOpenAIChat } from '../_shared/llm/fake-openai-chat.ts';
import { ask, readStream, sourcesOf, uploadReady } from './helpers.ts';

// Which documents a question searches: all of the caller's, the ones named in `document_ids`, or the ones uploaded
// into the chat (`POST /upload?chat_id=`). Read off the sources the model is given (a fake OpenAI-compatible
// server) and the citations that come back.
let fake: FakeOpenAIChat;
let stack: Stack;
let user: TestUser;
const docs: Record<string, string> = {};

beforeAll(async () => {
  // Every answer cites the first four sources, whatever they are.
  fake = await startFakeOpenAIChat((request) => (request.body.stream ? { tokens: ['Water them', ' [1] [2] [3] [4]', '.'] } : { tokens: ['How often do plants need watering?'] }));
  stack = await startTestStack({
    seed: false,
    functions: { env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model' } },
  });
  user = await signUpUser(stack, 'scope');
  for (const plant of ['roses', 'tomatoes', 'ferns']) {
    docs[plant] = await uploadReady(stack, user, `${plant}.md`, `# ${plant}\n\nWatering ${plant}: water the ${plant} twice a week, more often in summer.\n`);
  }
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

/** Asks a question and returns the documents the model was given and the documents the answer cites, by name. */
async function searched(chatId: string, extra: { document_ids?: string[] } = {}): Promise<{ given: string[]; cited: string[] }> {
  const from = fake.requests.length;
  const response = await ask(stack, user, chatId, 'How often do plants need watering?', extra);
  expect(response.status).toBe(200);
  const { parts, done } = await readStream(response);
  expect(done).toBe(true);
  const answers = fake.requests.slice(from).filter((request) => request.body.stream);
  expect(answers).toHaveLength(1);
  const given = parseSources(answers[0].body.messages[0].content as string).map((source) => source.document);
  const cited = sourcesOf(parts).map((part) => part.filename as string);
  return { given: [...new Set(given)].sort(), cited: [...new Set(cited)].sort() };
}

describe('retrieval scope', () => {
  it("searches all of the caller's documents by default", async () => {
    expect(await searched(randomUUID())).toEqual({ given: ['ferns.md', 'roses.md', 'tomatoes.md'], cited: ['ferns.md', 'roses.md', 'tomatoes.md'] });
  });

  it('searches only the documents named in document_ids', async () => {
    expect(await searched(randomUUID(), { document_ids: [docs.roses, docs.ferns] })).toEqual({ given: ['ferns.md', 'roses.md'], cited: ['ferns.md', 'roses.md'] });
  });

  it("finds nothing through document_ids naming another user's document", async () => {
    const other = await signUpUser(stack, 'other');
    const theirs = await uploadReady(stack, other, 'orchids.md', '# orchids\n\nWatering orchids: once a week.\n');
    expect(await searched(randomUUID(), { document_ids: [theirs] })).toEqual({ given: [], cited: [] });
  });

  it('searches only the documents uploaded into a chat, once it has some, unless document_ids says otherwise', async () => {
    const chatId = randomUUID();
    // A new chat has nothing attached: everything is searched.
    expect((await searched(chatId)).given).toEqual(['ferns.md', 'roses.md', 'tomatoes.md']);
    const lilies = await uploadReady(stack, user, 'lilies.md', '# lilies\n\nWatering lilies: keep the soil moist.\n', { chatId });
    const { rows } = await stack.db.query('select chat_id::text from public.documents where id = $1', [lilies]);
    expect(rows).toEqual([{ chat_id: chatId }]);

    expect(await searched(chatId)).toEqual({ given: ['lilies.md'], cited: ['lilies.md'] });
    expect((await searched(chatId, { document_ids: [docs.tomatoes] })).given).toEqual(['tomatoes.md']);
    // Other chats still search everything, the attached document included.
    expect((await searched(randomUUID())).given).toEqual(['ferns.md', 'lilies.md', 'roses.md', 'tomatoes.md']);
  });
});
