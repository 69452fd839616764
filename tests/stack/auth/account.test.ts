import { verify } from '@node-rs/bcrypt';
import { decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, errorShape, PASSWORD } from './helpers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

describe('auth: sign-up, sign-in and the user endpoints', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('signs a new user up and returns a session with GoTrue user JSON', async () => {
    const email = uniqueEmail('signup');
    const { data, error } = await anonClient(stack).auth.signUp({
      email,
      password: PASSWORD,
      options: { data: { full_name: 'Ada Lovelace' } },
    });
    expect(error).toBeNull();
    const user = data.user!;
    const session = data.session!;
    expect(session).toMatchObject({ token_type: 'bearer', expires_in: 1800 });
    expect(session.refresh_token).toMatch(/^[a-z0-9]{12}$/);
    expect(session.expires_at).toBe(decodeJwt(session.access_token).exp);
    expect(user).toEqual({
      id: expect.stringMatching(UUID),
      aud: 'authenticated',
      role: 'authenticated',
      email,
      email_confirmed_at: expect.stringMatching(ISO),
      phone: '',
      confirmed_at: expect.stringMatching(ISO),
      last_sign_in_at: expect.stringMatching(ISO),
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: { sub: user.id, email, email_verified: true, phone_verified: false, full_name: 'Ada Lovelace' },
      identities: [
        {
          identity_id: expect.stringMatching(UUID),
          id: user.id,
          user_id: user.id,
          identity_data: { sub: user.id, email, email_verified: false, phone_verified: false, full_name: 'Ada Lovelace' },
          provider: 'email',
          last_sign_in_at: expect.stringMatching(ISO),
          created_at: expect.stringMatching(ISO),
          updated_at: expect.stringMatching(ISO),
          email,
        },
      ],
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      is_anonymous: false,
    });
  });

  it('stores a $2a$10$ bcrypt hash, lower-cases the e-mail and creates the email identity row', async () => {
    const email = uniqueEmail('MiXeD');
    const { data } = await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    expect(data.user!.email).toBe(email.toLowerCase());
    const { rows } = await stack.db.query(
      `select u.email, u.encrypted_password, u.instance_id, u.confirmation_token, i.provider, i.provider_id, i.identity_data
         from auth.users u join auth.identities i on i.user_id = u.id where u.id = $1`,
      [data.user!.id],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0].email).toBe(email.toLowerCase());
    expect(rows[0].encrypted_password).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    expect(await verify(PASSWORD, rows[0].encrypted_password)).toBe(true);
    // GoTrue cannot read NULL token columns; rows must look like the ones it writes.
    expect(rows[0].instance_id).toBe('00000000-0000-0000-0000-000000000000');
    expect(rows[0].confirmation_token).toBe('');
    expect(rows[0]).toMatchObject({ provider: 'email', provider_id: data.user!.id });
    expect(rows[0].identity_data.email).toBe(email.toLowerCase());
  });

  it('mints access tokens with exactly the claims of contract §2.4, signed HS256 without kid', async () => {
    const email = uniqueEmail('claims');
    const client = anonClient(stack);
    await client.auth.signUp({ email, password: PASSWORD });
    const { data, error } = await client.auth.signInWithPassword({ email, password: PASSWORD });
    expect(error).toBeNull();
    const token = data.session!.access_token;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, stack.jwt.secret, { issuer: `${stack.apiUrl}/auth/v1`, audience: 'authenticated' });
    expect(Object.keys(payload).sort()).toEqual(
      ['aal', 'amr', 'app_metadata', 'aud', 'email', 'exp', 'iat', 'is_anonymous', 'iss', 'phone', 'role', 'session_id', 'sub', 'user_metadata'].sort(),
    );
    expect(payload).toMatchObject({
      iss: `${stack.apiUrl}/auth/v1`,
      sub: data.user!.id,
      aud: 'authenticated',
      email,
      phone: '',
      app_metadata: { provider: 'email', providers: ['email'] },
      user_metadata: data.user!.user_metadata,
      role: 'authenticated',
      aal: 'aal1',
      amr: [{ method: 'password', timestamp: expect.any(Number) }],
      session_id: expect.stringMatching(UUID),
      is_anonymous: false,
    });
    expect(payload.exp! - payload.iat!).toBe(1800);
    const { rows } = await stack.db.query('select user_id from auth.sessions where id = $1', [payload.session_id]);
    expect(rows).toEqual([{ user_id: data.user!.id }]);
  });

  it('signs in with any letter case of the e-mail and records last_sign_in_at', async () => {
    const email = uniqueEmail('case');
    await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    const { data, error } = await anonClient(stack).auth.signInWithPassword({ email: email.toUpperCase(), password: PASSWORD });
    expect(error).toBeNull();
    expect(data.user!.email).toBe(email);
    expect(data.user!.last_sign_in_at).toMatch(ISO);
  });

  it('reports weak_password alongside the session when a stored password no longer meets the rules', async () => {
    const email = uniqueEmail('legacy');
    // The admin API does not check strength, like GoTrue's; the sign-in then flags the weak password.
    const service = serviceClient(stack);
    expect((await service.auth.admin.createUser({ email, password: 'abc', email_confirm: true })).error).toBeNull();
    const { data, error } = await anonClient(stack).auth.signInWithPassword({ email, password: 'abc' });
    expect(error).toBeNull();
    expect(data.session).not.toBeNull();
    expect(data.weakPassword).toEqual({
      message:
        'Password should be at least 8 characters. Password should contain at least one character of each: ' +
        'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ, 0123456789.',
      reasons: ['length', 'characters'],
    });
  });

  it('returns the current user from GET /user', async () => {
    const email = uniqueEmail('getuser');
    const client = anonClient(stack);
    const signUp = await client.auth.signUp({ email, password: PASSWORD });
    const { data, error } = await client.auth.getUser();
    expect(error).toBeNull();
    expect(data.user).toEqual({ ...signUp.data.user, last_sign_in_at: expect.stringMatching(ISO), updated_at: expect.stringMatching(ISO) });
  });

  it('merges user_metadata on update and deletes keys set to null', async () => {
    const client = anonClient(stack);
    await client.auth.signUp({ email: uniqueEmail('meta'), password: PASSWORD, options: { data: { theme: 'dark', lang: 'en' } } });
    const first = await client.auth.updateUser({ data: { plan: 'pro', theme: null } });
    expect(first.error).toBeNull();
    expect(first.data.user!.user_metadata).toMatchObject({ lang: 'en', plan: 'pro' });
    expect(first.data.user!.user_metadata).not.toHaveProperty('theme');
    const { data } = await client.auth.getUser();
    expect(data.user!.user_metadata).toEqual(first.data.user!.user_metadata);
  });

  it('changes the password: the old one stops working, other sessions end, this one stays', async () => {
    const email = uniqueEmail('pw');
    const client = anonClient(stack);
    const other = anonClient(stack);
    await client.auth.signUp({ email, password: PASSWORD });
    const otherSession = (await other.auth.signInWithPassword({ email, password: PASSWORD })).data.session!;

    const { error } = await client.auth.updateUser({ password: 'new-password-7' });
    expect(error).toBeNull();

    const oldLogin = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
    expect(errorShape(oldLogin.error)).toEqual({ name: 'AuthApiError', message: 'Invalid login credentials', status: 400, code: 'invalid_credentials' });
    const newLogin = await anonClient(stack).auth.signInWithPassword({ email, password: 'new-password-7' });
    expect(newLogin.error).toBeNull();
    expect((await client.auth.getUser()).error).toBeNull();
    const otherRefresh = await other.auth.refreshSession({ refresh_token: otherSession.refresh_token });
    expect(errorShape(otherRefresh.error)).toEqual({
      name: 'AuthApiError',
      message: 'Invalid Refresh Token: Refresh Token Not Found',
      status: 400,
      code: 'refresh_token_not_found',
    });
  });

  it('refuses to set the same password again with 422 same_password', async () => {
    const client = anonClient(stack);
    await client.auth.signUp({ email: uniqueEmail('same'), password: PASSWORD });
    const { error } = await client.auth.updateUser({ password: PASSWORD });
    expect(errorShape(error)).toEqual({
      name: 'AuthApiError',
      message: 'New password should be different from the old password.',
      status: 422,
      code: 'same_password',
    });
  });

  it('records an e-mail change as pending (new_email) without changing the address', async () => {
    const email = uniqueEmail('old');
    const next = uniqueEmail('NEW');
    const client = anonClient(stack);
    await client.auth.signUp({ email, password: PASSWORD });
    const { data, error } = await client.auth.updateUser({ email: next });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email, new_email: next.toLowerCase(), email_change_sent_at: expect.stringMatching(ISO) });
  });

  it('refuses app_metadata changes from the user with 403 not_admin', async () => {
    const client = anonClient(stack);
    const { data } = await client.auth.signUp({ email: uniqueEmail('appmeta'), password: PASSWORD });
    const res = await callAuth(stack, '/user', {
      method: 'PUT',
      token: data.session!.access_token,
      body: { app_metadata: { plan: 'enterprise' } },
    });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ code: 'not_admin', message: 'Updating app_metadata requires admin privileges' });
  });

  it('serves /settings from config.toml and /health', async () => {
    const settings = await callAuth(stack, '/settings');
    expect(settings.status).toBe(200);
    expect(settings.body).toMatchObject({
      external: { email: true, anonymous_users: false, github: false, phone: false },
      disable_signup: false,
      mailer_autoconfirm: true,
      phone_autoconfirm: false,
    });
    const health = await callAuth(stack, '/health');
    expect(health.body).toEqual({ version: 'lite', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' });
  });
});
