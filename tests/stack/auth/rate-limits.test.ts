import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { callAuth, errorShape, PASSWORD } from './helpers.ts';
import { LIMITS_PROJECT, mailsTo } from './mail-helpers.ts';

/** GoTrue's burst for per-5-minute limits: this many requests pass at once whatever the configured rate. */
const BURST = 30;

describe('auth rate limits from [auth.rate_limit]', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: LIMITS_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const verify = (ip?: string) =>
    callAuth(stack, '/verify', {
      method: 'POST',
      body: { type: 'signup', token_hash: 'f'.repeat(56) },
      headers: ip ? { 'x-forwarded-for': `${ip}, 10.0.0.1` } : {},
    });

  it('answers 429 over_request_rate_limit once a client has used the burst of token_verifications, per client address', async () => {
    for (let i = 0; i < BURST; i += 1) expect((await verify('203.0.113.7')).status).toBe(403);
    const limited = await verify('203.0.113.7');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ code: 'over_request_rate_limit', message: 'Request rate limit reached' });
    // token_verifications = 1 per 5 minutes: the next token is 300 s away.
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(250);
    expect(limited.headers.get('x-sb-error-code')).toBe('over_request_rate_limit');

    expect((await verify('203.0.113.8')).status).toBe(403);
    // Without a forwarded client address nothing is limited by address, as GoTrue without a rate-limit header.
    expect((await verify()).status).toBe(403);
  });

  it('limits sign-in grants (token_refresh) and reports it through supabase-js', async () => {
    const client = anonClient(stack, (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('x-forwarded-for', '198.51.100.4');
      return fetch(input, { ...init, headers });
    });
    for (let i = 0; i < BURST; i += 1) {
      const { error } = await client.auth.signInWithPassword({ email: 'nobody@example.com', password: 'wrong-password-1' });
      expect(error?.code).toBe('invalid_credentials');
    }
    const { error } = await client.auth.signInWithPassword({ email: 'nobody@example.com', password: 'wrong-password-1' });
    expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'Request rate limit reached', status: 429, code: 'over_request_rate_limit' });
  });

  it('refuses a second mail of a kind within max_frequency, and more mails than email_sent per hour, changing nothing', async () => {
    const first = uniqueEmail('limit-a');
    expect((await anonClient(stack).auth.signUp({ email: first, password: PASSWORD })).error).toBeNull();
    const resent = await anonClient(stack).auth.resend({ type: 'signup', email: first });
    expect(resent.error).toMatchObject({ status: 429, code: 'over_email_send_rate_limit' });
    expect(resent.error!.message).toMatch(/^For security purposes, you can only request this after 35\d\d seconds\.$/);
    expect(await mailsTo(stack, first)).toHaveLength(1);

    // email_sent = 2 (applied because [auth.email.smtp] is enabled, as with the CLI): one mail is left this hour.
    expect((await anonClient(stack).auth.signUp({ email: uniqueEmail('limit-b'), password: PASSWORD })).error).toBeNull();
    const third = uniqueEmail('limit-c');
    const refused = await anonClient(stack).auth.signUp({ email: third, password: PASSWORD });
    expect(errorShape(refused.error)).toEqual({ name: 'AuthApiError', message: 'email rate limit exceeded', status: 429, code: 'over_email_send_rate_limit' });
    const { rows } = await stack.db.query('select count(*)::int as n from auth.users where email = $1', [third]);
    expect(rows[0].n).toBe(0);
    expect(await mailsTo(stack, third)).toEqual([]);
  });

  it('sends with the SMTP sender configured in [auth.email.smtp]', async () => {
    const [mail] = await mailsTo(stack, (await stack.db.query(`select email from auth.users where email like 'limit-a-%'`)).rows[0].email);
    expect(mail.From).toEqual({ Name: 'Example', Address: 'no-reply@example.com' });
  });
});
