import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { signUpUser, startTestStack } from '../../helpers/stack.ts';
import { type FakeOpenAIChat, startFakeOpenAIChat } from '../_shared/llm/fake-openai-chat.ts';
import { ask, readStream, uploadReady, waitForMessages } from './helpers.ts';

// LLM_TIMEOUT_MS bounds every model call: a model that never answers ends the stream with an error part instead
// of holding the client (and the function) until the platform's wall clock runs out. Its own stack, because the
// functions' environment is fixed when the stack starts.
let fake: FakeOpenAIChat;
let stack: Stack;

beforeAll(async () => {
  fake = await startFakeOpenAIChat({ hang: true });
  stack = await startTestStack({
    seed: false,
    functions: { env: { LLM_PROVIDER: 'openai', LLM_BASE_URL: fake.baseUrl, LLM_MODEL: 'fake-model', LLM_TIMEOUT_MS: '1000' } },
  });
});
afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

it('ends the stream with an error part when the model never answers, gives up on its request and stores the answer as failed', async () => {
  const user = await signUpUser(stack, 'timeout');
  await uploadReady(stack, user, 'garden.md', '# Garden\n\nTomatoes need watering every morning in summer.\n');
  const chatId = randomUUID();

  const response = await ask(stack, user, chatId, 'How often do tomatoes need watering?');
  expect(response.status).toBe(200);
  const { parts, done } = await readStream(response);
  expect(done).toBe(true);
  expect(parts).toEqual([
    { type: 'start', messageId: expect.any(String) },
    { type: 'error', errorText: 'The language model took too long to answer. Try again.' },
  ]);

  // The fake never answered; the function closed its request rather than leaving it open.
  expect(fake.requests).toHaveLength(1);
  await fake.requests[0].closed;
  expect(fake.requests[0]).toMatchObject({ aborted: true, completed: false });

  const stored = await waitForMessages(stack, chatId, 2);
  expect(stored.map(({ role, content, status }) => ({ role, content, status }))).toEqual([
    { role: 'user', content: 'How often do tomatoes need watering?', status: 'complete' },
    { role: 'assistant', content: '', status: 'failed' },
  ]);
});
