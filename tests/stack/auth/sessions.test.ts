import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, errorShape, PASSWORD } from './helpers.ts';

const ALREADY_USED = {
  name: 'AuthApiError',
  message: 'Invalid Refresh Token: Already Used',
  status: 400,
  code: 'refresh_token_already_used',
};
const NOT_FOUND = {
  name: 'AuthApiError',
  message: 'Invalid Refresh Token: Refresh Token Not Found',
  status: 400,
  code: 'refresh_token_not_found',
};

describe('auth: refresh-token rotation and sign-out (refresh_token_reuse_interval = 0)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function signedIn(email = uniqueEmail('sess')) {
    const client = anonClient(stack);
    const { data, error } = await client.auth.signUp({ email, password: PASSWORD });
    if (error) throw error;
    return { client, email, session: data.session! };
  }

  async function sessionCount(userId: string): Promise<number> {
    const { rows } = await stack.db.query('select count(*)::int as n from auth.sessions where user_id = $1', [userId]);
    return rows[0].n;
  }

  it('rotates the refresh token and keeps the session', async () => {
    const { client, session } = await signedIn();
    const { data, error } = await client.auth.refreshSession({ refresh_token: session.refresh_token });
    expect(error).toBeNull();
    expect(data.session!.refresh_token).not.toBe(session.refresh_token);
    expect(data.session!.refresh_token).toMatch(/^[a-z0-9]{12}$/);
    const before = decodeJwt(session.access_token);
    const after = decodeJwt(data.session!.access_token);
    expect(after.session_id).toBe(before.session_id);
    expect(after.amr).toEqual(before.amr);
    expect(after.sub).toBe(before.sub);
    expect((await client.auth.getUser(data.session!.access_token)).data.user!.id).toBe(session.user.id);
    const { rows } = await stack.db.query(
      'select token, revoked, parent from auth.refresh_tokens where session_id = $1 order by id',
      [before.session_id],
    );
    expect(rows).toEqual([
      { token: session.refresh_token, revoked: true, parent: null },
      { token: data.session!.refresh_token, revoked: false, parent: session.refresh_token },
    ]);
  });

  it('answers a retried refresh of the parent token with the current active token', async () => {
    const { client, session } = await signedIn();
    const first = await client.auth.refreshSession({ refresh_token: session.refresh_token });
    const retry = await client.auth.refreshSession({ refresh_token: session.refresh_token });
    expect(retry.error).toBeNull();
    expect(retry.data.session!.refresh_token).toBe(first.data.session!.refresh_token);
  });

  it('rejects reuse of an older refresh token with 400 refresh_token_already_used and revokes the session', async () => {
    const { client, session } = await signedIn();
    const t2 = (await client.auth.refreshSession({ refresh_token: session.refresh_token })).data.session!;
    const t3 = (await client.auth.refreshSession({ refresh_token: t2.refresh_token })).data.session!;

    const reuse = await anonClient(stack).auth.refreshSession({ refresh_token: session.refresh_token });
    expect(reuse.data.session).toBeNull();
    expect(errorShape(reuse.error)).toEqual(ALREADY_USED);

    // The whole token family is revoked: even the newest token no longer refreshes.
    const latest = await anonClient(stack).auth.refreshSession({ refresh_token: t3.refresh_token });
    expect(errorShape(latest.error)).toEqual(ALREADY_USED);
    const { rows } = await stack.db.query(
      'select count(*)::int as n from auth.refresh_tokens where session_id = $1 and not revoked',
      [decodeJwt(session.access_token).session_id],
    );
    expect(rows[0].n).toBe(0);
  });

  it('rejects an unknown refresh token with 400 refresh_token_not_found', async () => {
    const { error } = await anonClient(stack).auth.refreshSession({ refresh_token: 'nosuchtoken1' });
    expect(errorShape(error)).toEqual(NOT_FOUND);
  });

  it('answers an empty refresh token with the OAuth invalid_request body', async () => {
    const res = await callAuth(stack, '/token?grant_type=refresh_token', { method: 'POST', body: {} });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'invalid_request', error_description: 'refresh_token required' });
  });

  it('signs out locally: only this session ends, with 204 and an empty body', async () => {
    const { email, session } = await signedIn();
    const other = (await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
    const res = await callAuth(stack, '/logout?scope=local', { method: 'POST', token: session.access_token });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect(await sessionCount(session.user.id)).toBe(1);
    const ended = await anonClient(stack).auth.getUser(session.access_token);
    expect(errorShape(ended.error)).toEqual({ name: 'AuthSessionMissingError', message: 'Auth session missing!', status: 400, code: undefined });
    expect((await anonClient(stack).auth.getUser(other.access_token)).error).toBeNull();
  });

  it('signs out others: every other session ends, this one stays', async () => {
    const { client, email, session } = await signedIn();
    const a = (await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
    const b = (await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
    expect(await sessionCount(session.user.id)).toBe(3);
    const { error } = await client.auth.signOut({ scope: 'others' });
    expect(error).toBeNull();
    expect(await sessionCount(session.user.id)).toBe(1);
    expect(errorShape((await anonClient(stack).auth.refreshSession({ refresh_token: a.refresh_token })).error)).toEqual(NOT_FOUND);
    expect(errorShape((await anonClient(stack).auth.refreshSession({ refresh_token: b.refresh_token })).error)).toEqual(NOT_FOUND);
    expect((await client.auth.getUser()).error).toBeNull();
  });

  it('signs out globally by default: every session of the user ends', async () => {
    const { client, email, session } = await signedIn();
    const other = (await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
    const { error } = await client.auth.signOut();
    expect(error).toBeNull();
    expect(await sessionCount(session.user.id)).toBe(0);
    expect(errorShape((await anonClient(stack).auth.refreshSession({ refresh_token: other.refresh_token })).error)).toEqual(NOT_FOUND);
    // auth-js drops its own session on sign-out.
    expect((await client.auth.getSession()).data.session).toBeNull();
  });

  it('rejects an unknown logout scope with 400 validation_failed', async () => {
    const { session } = await signedIn();
    const res = await callAuth(stack, '/logout?scope=everywhere', { method: 'POST', token: session.access_token });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ code: 'validation_failed', message: 'Unsupported logout scope "everywhere"' });
  });
});
