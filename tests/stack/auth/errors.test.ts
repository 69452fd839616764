import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, errorShape, PASSWORD } from './helpers.ts';

const INVALID_CREDENTIALS = { name: 'AuthApiError', message: 'Invalid login credentials', status: 400, code: 'invalid_credentials' };
const JWT_PREFIX = 'invalid JWT: unable to parse or verify signature, ';

describe('auth errors (contract §2.1, §2.2)', () => {
  let stack: Stack;
  let email: string;
  let accessToken: string;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
    email = uniqueEmail('errors');
    const { data, error } = await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    if (error) throw error;
    accessToken = data.session!.access_token;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** An HS256 token signed with the stack's secret, for claims the stack would never issue itself. */
  function mint(claims: Record<string, unknown>, secret: Uint8Array = stack.jwt.secret): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ aud: 'authenticated', role: 'authenticated', iat: now, exp: now + 600, ...claims })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(secret);
  }

  describe('sign-up and sign-in', () => {
    it('returns 422 user_already_exists for a second sign-up with the same e-mail', async () => {
      const { data, error } = await anonClient(stack).auth.signUp({ email: email.toUpperCase(), password: PASSWORD });
      expect(data.user).toBeNull();
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'User already registered', status: 422, code: 'user_already_exists' });
      const raw = await callAuth(stack, '/signup', { method: 'POST', body: { email, password: PASSWORD } });
      expect(raw.status).toBe(422);
      expect(raw.body).toEqual({ code: 'user_already_exists', message: 'User already registered' });
      expect(raw.headers.get('x-sb-error-code')).toBe('user_already_exists');
      expect(raw.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    });

    it('answers a wrong password and an unknown user with the same 400 invalid_credentials', async () => {
      const wrong = await anonClient(stack).auth.signInWithPassword({ email, password: 'wrong-password-1' });
      const unknown = await anonClient(stack).auth.signInWithPassword({ email: uniqueEmail('nobody'), password: PASSWORD });
      expect(errorShape(wrong.error)).toEqual(INVALID_CREDENTIALS);
      expect(errorShape(unknown.error)).toEqual(INVALID_CREDENTIALS);
      const rawWrong = await callAuth(stack, '/token?grant_type=password', { method: 'POST', body: { email, password: 'nope-nope-1' } });
      const rawUnknown = await callAuth(stack, '/token?grant_type=password', {
        method: 'POST',
        body: { email: uniqueEmail('nobody'), password: PASSWORD },
      });
      expect(rawWrong).toMatchObject({ status: 400, body: { code: 'invalid_credentials', message: 'Invalid login credentials' } });
      expect(rawUnknown.body).toEqual(rawWrong.body);
      expect(rawUnknown.status).toBe(rawWrong.status);
    });

    it('returns 422 weak_password with the reasons and the configured minimum length', async () => {
      const { error } = await anonClient(stack).auth.signUp({ email: uniqueEmail('weak'), password: 'short' });
      const message =
        'Password should be at least 8 characters. Password should contain at least one character of each: ' +
        'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ, 0123456789.';
      expect(errorShape(error)).toEqual({ name: 'AuthWeakPasswordError', message, status: 422, code: 'weak_password', reasons: ['length', 'characters'] });
      const raw = await callAuth(stack, '/signup', { method: 'POST', body: { email: uniqueEmail('weak'), password: 'longbutnodigits' } });
      expect(raw.status).toBe(422);
      expect(raw.body).toEqual({
        code: 'weak_password',
        message: 'Password should contain at least one character of each: abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ, 0123456789.',
        weak_password: { reasons: ['characters'] },
      });
    });

    it('returns 400 validation_failed for a sign-up without password or with a malformed e-mail', async () => {
      const noPassword = await callAuth(stack, '/signup', { method: 'POST', body: { email: uniqueEmail('nopw') } });
      expect(noPassword).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'Signup requires a valid password' } });
      const badEmail = await anonClient(stack).auth.signUp({ email: 'not-an-email', password: PASSWORD });
      expect(errorShape(badEmail.error)).toEqual({
        name: 'AuthApiError',
        message: 'Unable to validate email address: invalid format',
        status: 400,
        code: 'validation_failed',
      });
    });

    it('returns 422 anonymous_provider_disabled for anonymous sign-in (off by default)', async () => {
      const { error } = await anonClient(stack).auth.signInAnonymously();
      expect(errorShape(error)).toEqual({
        name: 'AuthApiError',
        message: 'Anonymous sign-ins are disabled',
        status: 422,
        code: 'anonymous_provider_disabled',
      });
    });

    it('returns 400 invalid_credentials "unsupported_grant_type" for an unknown grant', async () => {
      const res = await callAuth(stack, '/token?grant_type=client_credentials', { method: 'POST', body: {} });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 'invalid_credentials', message: 'unsupported_grant_type' });
    });
  });

  describe('request bodies', () => {
    it('returns 400 bad_json for a malformed JSON body', async () => {
      const res = await callAuth(stack, '/signup', { method: 'POST', body: '{"email": "a@b.c", "password":' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 'bad_json', message: 'Could not parse request body as JSON: invalid JSON syntax' });
      expect(res.headers.get('x-sb-error-code')).toBe('bad_json');
    });

    it('returns 400 bad_json when a field has the wrong type', async () => {
      const res = await callAuth(stack, '/token?grant_type=password', { method: 'POST', body: { email: 42, password: PASSWORD } });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        code: 'bad_json',
        message: 'Could not parse request body as JSON: email: Invalid input: expected string, received number',
      });
    });

    it('returns 413 request_entity_too_large for a body over 1 MB', async () => {
      const res = await callAuth(stack, '/signup', {
        method: 'POST',
        body: { email: uniqueEmail('big'), password: PASSWORD, data: { blob: 'x'.repeat(1 << 20) } },
      });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({ code: 'request_entity_too_large', message: 'Request body too large (max 1048576 bytes)' });
      const { rows } = await stack.db.query(`select count(*)::int as n from auth.users where email like 'big-%'`);
      expect(rows[0].n).toBe(0);
    });
  });

  describe('error shape negotiation', () => {
    it('uses the legacy {code, error_code, msg} body without X-Supabase-Api-Version', async () => {
      const res = await callAuth(stack, '/token?grant_type=password', {
        method: 'POST',
        apiVersion: null,
        body: { email, password: 'wrong-password-1' },
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ code: 400, error_code: 'invalid_credentials', msg: 'Invalid login credentials' });
      expect(res.headers.get('x-sb-error-code')).toBe('invalid_credentials');
      expect(res.headers.get('x-supabase-api-version')).toBeNull();
    });

    it('uses the legacy body for a version before 2024-01-01 and the new one for later dates', async () => {
      const old = await callAuth(stack, '/user', { apiVersion: '2023-12-31', token: 'x.y.z' });
      expect(old.body).toEqual({ code: 403, error_code: 'bad_jwt', msg: expect.stringMatching(/^invalid JWT: /) });
      const later = await callAuth(stack, '/user', { apiVersion: '2025-06-01', token: 'x.y.z' });
      expect(later.body).toEqual({ code: 'bad_jwt', message: expect.stringMatching(/^invalid JWT: /) });
      expect(later.headers.get('x-supabase-api-version')).toBe('2024-01-01');
    });

    it('keeps the weak_password reasons in the legacy shape too', async () => {
      const res = await callAuth(stack, '/signup', { method: 'POST', apiVersion: null, body: { email: uniqueEmail('weak'), password: 'abc' } });
      expect(res.status).toBe(422);
      expect(res.body).toEqual({
        code: 422,
        error_code: 'weak_password',
        msg: expect.stringMatching(/^Password should be at least 8 characters\./),
        weak_password: { reasons: ['length', 'characters'] },
      });
    });
  });

  describe('tokens', () => {
    it('returns 403 bad_jwt for an expired token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = await mint({ sub: crypto.randomUUID(), iat: now - 7200, exp: now - 3600 });
      const { error } = await anonClient(stack).auth.getUser(expired);
      expect(errorShape(error)).toEqual({
        name: 'AuthApiError',
        message: `${JWT_PREFIX}token has invalid claims: token is expired`,
        status: 403,
        code: 'bad_jwt',
      });
    });

    it('returns 403 bad_jwt for a tampered token and for one signed with another secret', async () => {
      const [header, payload, signature] = accessToken.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = Buffer.from(JSON.stringify({ ...claims, role: 'service_role' })).toString('base64url');
      const expected = {
        name: 'AuthApiError',
        message: `${JWT_PREFIX}token signature is invalid: signature is invalid`,
        status: 403,
        code: 'bad_jwt',
      };
      expect(errorShape((await anonClient(stack).auth.getUser(`${header}.${forged}.${signature}`)).error)).toEqual(expected);
      const otherSecret = await mint(claims, new TextEncoder().encode('another-secret-that-is-at-least-32-chars'));
      expect(errorShape((await anonClient(stack).auth.getUser(otherSecret)).error)).toEqual(expected);
    });

    it('returns 403 bad_jwt "invalid claim: missing sub claim" when the anon key is used as a user token', async () => {
      const { error } = await anonClient(stack).auth.getUser(stack.keys.anon);
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'invalid claim: missing sub claim', status: 403, code: 'bad_jwt' });
    });

    it('returns 400 bad_jwt when sub is not a UUID and 403 user_not_found for an unknown user', async () => {
      const notUuid = await callAuth(stack, '/user', { token: await mint({ sub: 'user-42' }) });
      expect(notUuid).toMatchObject({ status: 400, body: { code: 'bad_jwt', message: 'invalid claim: sub claim must be a UUID' } });
      const { error } = await anonClient(stack).auth.getUser(await mint({ sub: crypto.randomUUID() }));
      expect(errorShape(error)).toEqual({
        name: 'AuthApiError',
        message: 'User from sub claim in JWT does not exist',
        status: 403,
        code: 'user_not_found',
      });
    });

    it('returns 401 no_authorization when the request carries no bearer token', async () => {
      // A legacy API key in `apikey` alone is copied into Authorization without "Bearer " (Kong's rule).
      const res = await callAuth(stack, '/user', { apikey: stack.keys.anon });
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 'no_authorization', message: 'This endpoint requires a valid Bearer token' });
      const basic = await callAuth(stack, '/user', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      expect(basic.body).toEqual(res.body);
    });
  });

  describe('admin routes', () => {
    it('returns 403 not_admin "User not allowed" for the publishable key', async () => {
      const { data, error } = await anonClient(stack).auth.admin.listUsers();
      expect(data.users).toEqual([]);
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'User not allowed', status: 403, code: 'not_admin' });
    });

    it('returns 403 not_admin for a signed-in user token and 401 without a bearer token', async () => {
      const res = await callAuth(stack, '/admin/users', { token: accessToken });
      expect(res.status).toBe(403);
      expect(res.body).toEqual({ code: 'not_admin', message: 'User not allowed' });
      const none = await callAuth(stack, '/admin/users', { apikey: stack.keys.serviceRole });
      expect(none.status).toBe(401);
      expect(none.body).toEqual({ code: 'no_authorization', message: 'This endpoint requires a valid Bearer token' });
    });

    it('accepts a service_role token minted with the secret, and a supabase_admin one', async () => {
      for (const role of ['service_role', 'supabase_admin']) {
        const res = await callAuth(stack, '/admin/users?per_page=1', { token: await mint({ role, aud: undefined }) });
        expect(res.status).toBe(200);
      }
      expect((await serviceClient(stack).auth.admin.listUsers({ perPage: 1 })).error).toBeNull();
    });
  });

  it('answers a request without an API key at the gateway with 401', async () => {
    const res = await callAuth(stack, '/signup', { method: 'POST', apikey: null, body: { email: uniqueEmail('nokey'), password: PASSWORD } });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
  });
});

describe('auth with enable_signup = false', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: new URL('../../fixtures/auth-project/signups-disabled', import.meta.url).pathname });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('refuses sign-up with 422 signup_disabled, while admin-created users can sign in', async () => {
    const email = uniqueEmail('closed');
    const { error } = await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'Signups not allowed for this instance', status: 422, code: 'signup_disabled' });
    const created = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    expect(created.error).toBeNull();
    expect((await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    expect((await callAuth(stack, '/settings')).body).toMatchObject({ disable_signup: true });
  });
});

describe('auth with enable_confirmations = true and anonymous sign-ins on', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: new URL('../../fixtures/auth-project/confirmations', import.meta.url).pathname });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('returns the bare unconfirmed user from sign-up and 400 email_not_confirmed from sign-in', async () => {
    const email = uniqueEmail('confirm');
    const signUp = await callAuth(stack, '/signup', { method: 'POST', body: { email, password: PASSWORD } });
    expect(signUp.status).toBe(200);
    const user = signUp.body as Record<string, unknown>;
    expect(user).not.toHaveProperty('access_token');
    expect(user).not.toHaveProperty('email_confirmed_at');
    expect(user).toMatchObject({ email, confirmation_sent_at: expect.any(String), role: 'authenticated' });

    const viaClient = await anonClient(stack).auth.signUp({ email: uniqueEmail('confirm'), password: PASSWORD });
    expect(viaClient.error).toBeNull();
    expect(viaClient.data.session).toBeNull();
    expect(viaClient.data.user!.email_confirmed_at).toBeUndefined();

    const { error } = await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
    expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'Email not confirmed', status: 400, code: 'email_not_confirmed' });
  });

  it('answers a sign-up for a confirmed address with an obfuscated user instead of an error', async () => {
    const email = uniqueEmail('taken');
    const created = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    const { data, error } = await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    expect(error).toBeNull();
    expect(data.session).toBeNull();
    expect(data.user!.id).not.toBe(created.data.user!.id);
    expect(data.user!.identities).toEqual([]);
    const { rows } = await stack.db.query('select count(*)::int as n from auth.users where email = $1', [email]);
    expect(rows[0].n).toBe(1);
  });

  it('signs in anonymously: a session for a user with is_anonymous and no identities', async () => {
    const { data, error } = await anonClient(stack).auth.signInAnonymously({ options: { data: { guest: true } } });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ email: '', is_anonymous: true, user_metadata: { guest: true }, identities: [] });
    expect(data.user!.app_metadata).toEqual({});
    const claims = JSON.parse(Buffer.from(data.session!.access_token.split('.')[1], 'base64url').toString());
    expect(claims).toMatchObject({ is_anonymous: true, role: 'authenticated', amr: [{ method: 'anonymous', timestamp: expect.any(Number) }] });
  });
});
