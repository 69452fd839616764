import * as bcrypt from '@node-rs/bcrypt';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BCRYPT_CONCURRENCY } from '../../../stack/auth/passwords.ts';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, errorShape, PASSWORD } from './helpers.ts';

// The real native bcrypt still does the work; the spies only count calls, so the test needs no clock.
vi.mock('@node-rs/bcrypt', async (importOriginal) => {
  const real = await importOriginal<typeof import('@node-rs/bcrypt')>();
  return { ...real, hash: vi.fn(real.hash), verify: vi.fn(real.verify) };
});

const nul = (field: string) => ({ code: 'validation_failed', message: `${field}: must not contain a NUL character (\\u0000)` });

describe('auth hardening: NUL bytes and password hashing', () => {
  let stack: Stack;
  let email: string;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
    email = uniqueEmail('hardening');
    const created = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    if (created.error) throw created.error;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('a NUL character in any input is a 400, never a 500', () => {
    it('refuses it in a refresh token, through supabase-js too (which would retry a 5xx)', async () => {
      const raw = await callAuth(stack, '/token?grant_type=refresh_token', { method: 'POST', body: { refresh_token: '\u0000' } });
      expect([raw.status, raw.body]).toEqual([400, nul('refresh_token')]);
      const { error } = await anonClient(stack).auth.refreshSession({ refresh_token: 'abc\u0000' });
      expect(errorShape(error)).toEqual({
        name: 'AuthApiError',
        message: 'refresh_token: must not contain a NUL character (\\u0000)',
        status: 400,
        code: 'validation_failed',
      });
    });

    it('refuses it in e-mails, passwords and metadata, and writes nothing', async () => {
      const bad = '\u0000@x.y';
      expect((await callAuth(stack, '/signup', { method: 'POST', body: { email: bad, password: PASSWORD } })).body).toEqual(nul('email'));
      expect((await callAuth(stack, '/token?grant_type=password', { method: 'POST', body: { email, password: 'pw\u0000' } })).body).toEqual(
        nul('password'),
      );
      const signUp = await callAuth(stack, '/signup', { method: 'POST', body: { email: uniqueEmail('meta'), password: PASSWORD, data: { nested: [{ k: 'a\u0000' }] } } });
      expect([signUp.status, signUp.body]).toEqual([400, nul('data.nested[0].k')]);
      const key = await callAuth(stack, '/otp', { method: 'POST', body: { email, data: { 'bad\u0000key': 1 } } });
      expect([key.status, key.body]).toEqual([400, nul('data')]);
      const { rows } = await stack.db.query(`select count(*)::int as n from auth.users where email like 'meta-%'`);
      expect(rows[0].n).toBe(0);
    });

    it('refuses it in query parameters such as redirect_to', async () => {
      const raw = await callAuth(stack, `/recover?redirect_to=${encodeURIComponent('http://127.0.0.1:3000/\u0000')}`, {
        method: 'POST',
        body: { email },
      });
      expect([raw.status, raw.body]).toEqual([400, nul('redirect_to')]);
    });
  });

  describe('password hashing', () => {
    beforeEach(() => {
      vi.mocked(bcrypt.verify).mockClear();
      vi.mocked(bcrypt.hash).mockClear();
    });

    it('does exactly one bcrypt comparison for a wrong password, whether the address is known or not', async () => {
      const known = await anonClient(stack).auth.signInWithPassword({ email, password: 'wrong-password-1' });
      expect(known.error?.code).toBe('invalid_credentials');
      expect(vi.mocked(bcrypt.verify)).toHaveBeenCalledTimes(1);
      const knownHash = vi.mocked(bcrypt.verify).mock.calls[0][1];

      vi.mocked(bcrypt.verify).mockClear();
      const unknown = await anonClient(stack).auth.signInWithPassword({ email: uniqueEmail('unknown'), password: 'wrong-password-1' });
      expect(unknown.error?.code).toBe('invalid_credentials');
      expect(vi.mocked(bcrypt.verify)).toHaveBeenCalledTimes(1);
      // Against a dummy hash of the same algorithm and cost as a real one, so it takes as long.
      const dummy = vi.mocked(bcrypt.verify).mock.calls[0][1] as string;
      expect(dummy).not.toBe(knownHash);
      expect(dummy.slice(0, 7)).toBe((knownHash as string).slice(0, 7));
      expect(dummy).toMatch(/^\$2a\$10\$[./A-Za-z0-9]{53}$/);
    });

    it('compares once for a user without a password, and hashes once per sign-up with the native binding', async () => {
      const invited = await serviceClient(stack).auth.admin.inviteUserByEmail(uniqueEmail('no-password'));
      expect(invited.error).toBeNull();
      vi.mocked(bcrypt.verify).mockClear();
      await anonClient(stack).auth.signInWithPassword({ email: invited.data.user!.email!, password: 'anything-12' });
      expect(vi.mocked(bcrypt.verify)).toHaveBeenCalledTimes(1);

      vi.mocked(bcrypt.hash).mockClear();
      expect((await anonClient(stack).auth.signUp({ email: uniqueEmail('hashed'), password: PASSWORD })).error).toBeNull();
      expect(vi.mocked(bcrypt.hash)).toHaveBeenCalledTimes(1);
      expect(vi.mocked(bcrypt.hash)).toHaveBeenCalledWith(PASSWORD, { cost: 10, version: '2a' });
    });

    it('runs at most BCRYPT_CONCURRENCY bcrypt jobs at once, leaving thread-pool room for file I/O', async () => {
      const real = await vi.importActual<typeof import('@node-rs/bcrypt')>('@node-rs/bcrypt');
      let inFlight = 0;
      let peak = 0;
      vi.mocked(bcrypt.verify).mockImplementation(async (...args) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        try {
          return await real.verify(...args);
        } finally {
          inFlight -= 1;
        }
      });
      try {
        const results = await Promise.all(
          Array.from({ length: 8 }, () => anonClient(stack).auth.signInWithPassword({ email, password: 'wrong-password-1' })),
        );
        expect(results.map((r) => r.error?.code)).toEqual(Array(8).fill('invalid_credentials'));
        expect(vi.mocked(bcrypt.verify)).toHaveBeenCalledTimes(8);
        expect(peak).toBe(BCRYPT_CONCURRENCY);
      } finally {
        vi.mocked(bcrypt.verify).mockImplementation(real.verify);
      }
    });

    it('still accepts $2b$ hashes made by other bcrypt implementations (imported users)', async () => {
      const hash = (await bcrypt.hash(PASSWORD, { cost: 4, version: '2b' })).toString();
      const imported = uniqueEmail('imported');
      const created = await serviceClient(stack).auth.admin.createUser({ email: imported, password_hash: hash, email_confirm: true } as never);
      expect(created.error).toBeNull();
      expect((await anonClient(stack).auth.signInWithPassword({ email: imported, password: PASSWORD })).error).toBeNull();
    });
  });
});
