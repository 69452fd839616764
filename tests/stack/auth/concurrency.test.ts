import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, PASSWORD } from './helpers.ts';

describe('auth under concurrency', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('completes 50 parallel sign-ups with distinct users and distinct sessions', { timeout: 180_000 }, async () => {
    const emails = Array.from({ length: 50 }, () => uniqueEmail('burst'));
    const results = await Promise.all(emails.map((email) => anonClient(stack).auth.signUp({ email, password: PASSWORD })));
    expect(results.map((r) => r.error)).toEqual(emails.map(() => null));
    const userIds = new Set(results.map((r) => r.data.user!.id));
    const sessionIds = new Set(results.map((r) => decodeJwt(r.data.session!.access_token).session_id));
    const refreshTokens = new Set(results.map((r) => r.data.session!.refresh_token));
    expect(userIds.size).toBe(50);
    expect(sessionIds.size).toBe(50);
    expect(refreshTokens.size).toBe(50);
    expect(results.map((r) => r.data.user!.email).sort()).toEqual([...emails].sort());
    const { rows } = await stack.db.query(
      `select count(distinct u.id)::int as users, count(distinct s.id)::int as sessions
         from auth.users u join auth.sessions s on s.user_id = u.id where u.email like 'burst-%'`,
    );
    expect(rows[0]).toEqual({ users: 50, sessions: 50 });
  });

  it('lets only one of several parallel sign-ups with the same e-mail succeed', async () => {
    const email = uniqueEmail('race');
    const results = await Promise.all(Array.from({ length: 5 }, () => anonClient(stack).auth.signUp({ email, password: PASSWORD })));
    expect(results.filter((r) => r.error === null)).toHaveLength(1);
    expect(results.filter((r) => r.error?.code === 'user_already_exists')).toHaveLength(4);
  });
});
