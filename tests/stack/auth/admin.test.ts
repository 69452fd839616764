import { hash as bcryptHash } from '@node-rs/bcrypt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, errorShape, PASSWORD } from './helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('auth admin API', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  async function userCount(): Promise<number> {
    const { rows } = await stack.db.query('select count(*)::int as n from auth.users');
    return rows[0].n;
  }

  describe('listing', () => {
    const created: string[] = [];
    beforeAll(async () => {
      // Sequential, so created_at orders them.
      for (let i = 0; i < 5; i += 1) {
        const { data, error } = await serviceClient(stack).auth.admin.createUser({ email: uniqueEmail(`list${i}`), password: PASSWORD });
        if (error) throw error;
        created.push(data.user!.id);
      }
    });

    it('pages users newest first with total, nextPage and lastPage as supabase-js reports them', async () => {
      const total = await userCount();
      const lastPage = Math.ceil(total / 2);
      const first = await serviceClient(stack).auth.admin.listUsers({ page: 1, perPage: 2 });
      expect(first.error).toBeNull();
      expect(first.data).toMatchObject({ aud: 'authenticated', total, nextPage: 2, lastPage });
      expect(first.data.users.map((u) => u.id)).toEqual([created[4], created[3]]);
      const second = await serviceClient(stack).auth.admin.listUsers({ page: 2, perPage: 2 });
      expect(second.data.users.map((u) => u.id)).toEqual([created[2], created[1]]);
      const last = await serviceClient(stack).auth.admin.listUsers({ page: lastPage, perPage: 2 });
      expect(last.data).toMatchObject({ total, nextPage: null, lastPage });
      expect(last.data.users.length).toBe(total - 2 * (lastPage - 1));
    });

    it('sends X-Total-Count and a Link header with page as the first query key', async () => {
      const total = await userCount();
      const res = await callAuth(stack, '/admin/users?per_page=2&page=1', { apikey: stack.keys.secret });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-total-count')).toBe(String(total));
      expect(res.headers.get('link')).toBe(
        `</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=${Math.ceil(total / 2)}&per_page=2>; rel="last"`,
      );
      expect(res.body).toEqual({ users: expect.any(Array), aud: 'authenticated' });
      expect(res.headers.get('access-control-expose-headers')).toContain('X-Total-Count');
    });

    it('defaults to 50 users per page and rejects a non-numeric page', async () => {
      const all = await serviceClient(stack).auth.admin.listUsers();
      expect(all.data.users.length).toBe(Math.min(50, await userCount()));
      const bad = await callAuth(stack, '/admin/users?page=two', { apikey: stack.keys.secret });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({
        code: 'validation_failed',
        message: 'Bad Pagination Parameters: strconv.ParseUint: parsing "two": invalid syntax',
      });
    });
  });

  describe('create', () => {
    it('creates a confirmed user (200) who can sign in', async () => {
      const email = uniqueEmail('Admin');
      const { data, error } = await serviceClient(stack).auth.admin.createUser({
        email,
        password: PASSWORD,
        email_confirm: true,
        user_metadata: { full_name: 'Grace Hopper' },
        app_metadata: { plan: 'pro' },
      });
      expect(error).toBeNull();
      expect(data.user).toMatchObject({
        id: expect.stringMatching(UUID),
        aud: 'authenticated',
        role: 'authenticated',
        email: email.toLowerCase(),
        email_confirmed_at: expect.any(String),
        app_metadata: { provider: 'email', providers: ['email'], plan: 'pro' },
        user_metadata: { full_name: 'Grace Hopper', email_verified: true },
        identities: [expect.objectContaining({ provider: 'email', id: data.user!.id })],
        is_anonymous: false,
      });
      const login = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
      expect(login.error).toBeNull();
      expect(login.data.user!.id).toBe(data.user!.id);
    });

    it('accepts a bcrypt password_hash, stores it as given, and signs in with the original password', async () => {
      const email = uniqueEmail('hash');
      const hash = await bcryptHash('imported-password-9', { cost: 4, version: '2b' });
      const { data, error } = await serviceClient(stack).auth.admin.createUser({ email, password_hash: hash, email_confirm: true } as never);
      expect(error).toBeNull();
      const { rows } = await stack.db.query('select encrypted_password from auth.users where id = $1', [data.user!.id]);
      expect(rows[0].encrypted_password).toBe(hash);
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: 'imported-password-9' })).error).toBeNull();
    });

    it('creates a user with a chosen id', async () => {
      const id = crypto.randomUUID();
      const { data, error } = await serviceClient(stack).auth.admin.createUser({ id, email: uniqueEmail('id'), password: PASSWORD } as never);
      expect(error).toBeNull();
      expect(data.user!.id).toBe(id);
    });

    it('leaves a user created without email_confirm unable to sign in: 400 email_not_confirmed', async () => {
      const email = uniqueEmail('unconfirmed');
      await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD });
      const { error } = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'Email not confirmed', status: 400, code: 'email_not_confirmed' });
    });

    it('returns 422 email_exists for a taken address', async () => {
      const email = uniqueEmail('dup');
      await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD });
      const { error } = await serviceClient(stack).auth.admin.createUser({ email: email.toUpperCase(), password: PASSWORD });
      expect(errorShape(error)).toEqual({
        name: 'AuthApiError',
        message: 'A user with this email address has already been registered',
        status: 422,
        code: 'email_exists',
      });
    });

    it('returns 400 validation_failed without e-mail or phone, or with both password and hash', async () => {
      const none = await serviceClient(stack).auth.admin.createUser({ password: PASSWORD });
      expect(errorShape(none.error)).toEqual({
        name: 'AuthApiError',
        message: 'Cannot create a user without either an email or phone',
        status: 400,
        code: 'validation_failed',
      });
      const both = await serviceClient(stack).auth.admin.createUser({
        email: uniqueEmail('both'),
        password: PASSWORD,
        password_hash: await bcryptHash('x', { cost: 4 }),
      } as never);
      expect(errorShape(both.error)).toEqual({
        name: 'AuthApiError',
        message: 'Only a password or a password hash should be provided',
        status: 400,
        code: 'validation_failed',
      });
    });
  });

  describe('get, update, delete', () => {
    let userId: string;
    let email: string;
    beforeAll(async () => {
      email = uniqueEmail('crud');
      const { data, error } = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
      if (error) throw error;
      userId = data.user!.id;
    });

    it('gets a user by id', async () => {
      const { data, error } = await serviceClient(stack).auth.admin.getUserById(userId);
      expect(error).toBeNull();
      expect(data.user).toMatchObject({ id: userId, email });
    });

    it('returns 404 user_not_found for an unknown id and 404 validation_failed for a non-UUID', async () => {
      const { error } = await serviceClient(stack).auth.admin.getUserById(crypto.randomUUID());
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'User not found', status: 404, code: 'user_not_found' });
      const res = await callAuth(stack, '/admin/users/not-a-uuid', { apikey: stack.keys.secret });
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ code: 'validation_failed', message: 'user_id must be an UUID' });
    });

    it('updates metadata and password; the user signs in with the new password', async () => {
      const session = (await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).data.session!;
      const { data, error } = await serviceClient(stack).auth.admin.updateUserById(userId, {
        password: 'admin-set-password-1',
        user_metadata: { nickname: 'gh' },
        app_metadata: { plan: 'team' },
      });
      expect(error).toBeNull();
      expect(data.user!.app_metadata).toEqual({ provider: 'email', providers: ['email'], plan: 'team' });
      expect(data.user!.user_metadata).toMatchObject({ nickname: 'gh', email_verified: true });
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: 'admin-set-password-1' })).error).toBeNull();
      // An admin password change ends the user's existing sessions.
      const refresh = await anonClient(stack).auth.refreshSession({ refresh_token: session.refresh_token });
      expect(refresh.error?.code).toBe('refresh_token_not_found');
      await serviceClient(stack).auth.admin.updateUserById(userId, { password: PASSWORD });
    });

    it('bans with ban_duration (400 user_banned on sign-in) and lifts the ban with "none"', async () => {
      const banned = await serviceClient(stack).auth.admin.updateUserById(userId, { ban_duration: '24h' });
      expect(banned.data.user!.banned_until).toEqual(expect.any(String));
      const { error } = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'User is banned', status: 400, code: 'user_banned' });
      const lifted = await serviceClient(stack).auth.admin.updateUserById(userId, { ban_duration: 'none' });
      expect(lifted.data.user).not.toHaveProperty('banned_until');
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    });

    it('deletes a user: 200 {}, then 404, and the old access token names a user that no longer exists', async () => {
      const target = uniqueEmail('del');
      const { data: created } = await serviceClient(stack).auth.admin.createUser({ email: target, password: PASSWORD, email_confirm: true });
      const token = (await anonClient(stack).auth.signInWithPassword({ email: target, password: PASSWORD })).data.session!.access_token;
      const raw = await callAuth(stack, `/admin/users/${created.user!.id}`, { method: 'DELETE', apikey: stack.keys.secret });
      expect(raw.status).toBe(200);
      expect(raw.body).toEqual({});
      expect((await serviceClient(stack).auth.admin.getUserById(created.user!.id)).error?.code).toBe('user_not_found');
      const { error } = await anonClient(stack).auth.getUser(token);
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'User from sub claim in JWT does not exist', status: 403, code: 'user_not_found' });
      const { rows } = await stack.db.query('select count(*)::int as n from auth.identities where user_id = $1', [created.user!.id]);
      expect(rows[0].n).toBe(0);
    });

    it('soft-deletes a user through supabase-js: the row stays with deleted_at and the address is freed', async () => {
      const target = uniqueEmail('soft');
      const { data: created } = await serviceClient(stack).auth.admin.createUser({ email: target, password: PASSWORD, email_confirm: true });
      const { data, error } = await serviceClient(stack).auth.admin.deleteUser(created.user!.id, true);
      expect(error).toBeNull();
      expect(data.user).toEqual({});
      const got = await serviceClient(stack).auth.admin.getUserById(created.user!.id);
      expect(got.data.user).toMatchObject({ email: '', deleted_at: expect.any(String) });
      expect((await anonClient(stack).auth.signInWithPassword({ email: target, password: PASSWORD })).error?.code).toBe('invalid_credentials');
      expect((await anonClient(stack).auth.signUp({ email: target, password: PASSWORD })).error).toBeNull();
    });
  });
});
