import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { ask, callChat, readStream, textOf, uploadReady } from './helpers.ts';

// The plan's daily question limit, counted atomically in Postgres and enforced by the chat function; users read
// their count but cannot change it.
const LIMIT = 5;
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  await stack.db.query('update public.plans set daily_request_limit = $1 where id = $2', [LIMIT, 'free']);
});
afterAll(async () => {
  await stack?.stop();
});

/** Today in UTC and the next UTC midnight, as the function reports them. */
function today(): { date: string; resetsAt: string } {
  const now = new Date();
  return {
    date: now.toISOString().slice(0, 10),
    resetsAt: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1)).toISOString(),
  };
}

async function usageRows(userId: string): Promise<Array<{ date: string; daily_requests_count: number }>> {
  const { rows } = await stack.db.query<{ date: string; daily_requests_count: number }>(
    "select to_char(date, 'YYYY-MM-DD') as date, daily_requests_count from public.user_daily_usage where user_id = $1",
    [userId],
  );
  return rows;
}

async function written(userId: string): Promise<{ chats: number; messages: number }> {
  const { rows } = await stack.db.query<{ chats: number; messages: number }>(
    `select (select count(*)::int from public.chats where owner_id = $1) as chats,
            (select count(*)::int from public.chat_messages where owner_id = $1) as messages`,
    [userId],
  );
  return rows[0];
}

describe("the plan's daily limit", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await signUpUser(stack, 'limit');
    await uploadReady(stack, user, 'garden.md', '# Garden\n\nTomatoes need watering every morning in summer.\n');
  });

  it(`lets exactly ${LIMIT} of 50 parallel questions through and answers the rest 429 daily_limit_reached with Retry-After`, async () => {
    const before = Date.now();
    const responses = await Promise.all(Array.from({ length: 50 }, () => ask(stack, user, randomUUID(), 'How often do tomatoes need watering?')));
    const after = Date.now();
    const { date, resetsAt } = today();

    const ok = responses.filter((response) => response.status === 200);
    const refused = responses.filter((response) => response.status === 429);
    expect({ ok: ok.length, refused: refused.length }).toEqual({ ok: LIMIT, refused: 50 - LIMIT });

    for (const response of ok) {
      const { parts, done } = await readStream(response);
      expect(done).toBe(true);
      expect(textOf(parts)).toContain('Tomatoes need watering every morning in summer.');
    }
    for (const response of refused) {
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({
        error: {
          code: 'daily_limit_reached',
          message: `You have asked all ${LIMIT} questions your Free plan allows today. The limit resets at midnight UTC.`,
          limit: LIMIT,
          used: LIMIT,
          plan: 'Free',
          resets_at: resetsAt,
        },
      });
      // Whole seconds until the next UTC midnight, as seen at some moment while the request was being answered.
      const retryAfter = response.headers.get('retry-after')!;
      expect(retryAfter).toMatch(/^[1-9]\d*$/);
      const midnight = Date.parse(resetsAt);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(Math.ceil((midnight - after) / 1000));
      expect(Number(retryAfter)).toBeLessThanOrEqual(Math.ceil((midnight - before) / 1000));
    }

    expect(await usageRows(user.id)).toEqual([{ date, daily_requests_count: LIMIT }]);
    // A refused question leaves nothing behind: the answered ones made a chat with a question and an answer each.
    expect(await written(user.id)).toEqual({ chats: LIMIT, messages: 2 * LIMIT });
  });

  it('refuses a question in an existing chat too, once the limit is reached, without adding to it', async () => {
    const { data: chats } = await user.client.from('chats').select('id').limit(1);
    const response = await ask(stack, user, chats![0].id, 'And the basil?');
    expect(response.status).toBe(429);
    expect((await response.json()).error.code).toBe('daily_limit_reached');
    expect(await written(user.id)).toEqual({ chats: LIMIT, messages: 2 * LIMIT });
  });

  it('tells the user their usage at GET /chat/usage', async () => {
    const response = await callChat(stack, user, 'GET', '/usage');
    expect(response.status).toBe(200);
    const { date, resetsAt } = today();
    expect(await response.json()).toEqual({ date, used: LIMIT, limit: LIMIT, plan: 'Free', resets_at: resetsAt });

    const fresh = await signUpUser(stack, 'fresh');
    const none = await callChat(stack, fresh, 'GET', '/usage');
    expect(await none.json()).toEqual({ date, used: 0, limit: LIMIT, plan: 'Free', resets_at: resetsAt });
  });

  it('does not let a user reset, raise or add to their count through the Data API', async () => {
    const { date } = today();
    const update = await user.client.from('user_daily_usage').update({ daily_requests_count: 0 }).eq('user_id', user.id).select();
    expect(update.error?.code).toBe('42501');
    const insert = await user.client.from('user_daily_usage').insert({ user_id: user.id, date: '2099-01-01', daily_requests_count: 0 });
    expect(insert.error?.code).toBe('42501');
    const remove = await user.client.from('user_daily_usage').delete().eq('user_id', user.id);
    expect(remove.error?.code).toBe('42501');
    const count = await user.client.rpc('consume_daily_request', { user_id: user.id });
    expect(count.error?.code).toBe('42501');
    expect(await usageRows(user.id)).toEqual([{ date, daily_requests_count: LIMIT }]);
  });
});
