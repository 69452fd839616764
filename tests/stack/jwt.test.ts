import { SignJWT } from 'jose';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JwtError, JwtKeys } from '../../stack/jwt.ts';

const SECRET = 'a-test-secret-that-is-at-least-32-characters-long';

function mint(claims: Record<string, unknown>, secret = SECRET): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof JwtError) return error.reason;
    throw error;
  }
  return 'accepted';
}

afterEach(() => {
  vi.useRealTimers();
});

describe('JwtKeys.verify cache', () => {
  it('refuses a remembered token once it has expired (30 s leeway)', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const now = Math.floor(Date.now() / 1000);
    const keys = new JwtKeys(SECRET);
    const token = await mint({ role: 'authenticated', sub: 'u1', exp: now + 60 });
    expect(await keys.verify(token)).toMatchObject({ sub: 'u1' });
    vi.setSystemTime((now + 60 + 29) * 1000);
    expect(await failure(keys.verify(token))).toBe('accepted');
    vi.setSystemTime((now + 60 + 31) * 1000);
    expect(await failure(keys.verify(token))).toBe('expired');
  });

  it('refuses a remembered token again if the clock goes back before its nbf', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-01-01T00:00:00Z'));
    const now = Math.floor(Date.now() / 1000);
    const keys = new JwtKeys(SECRET);
    const token = await mint({ role: 'authenticated', nbf: now, exp: now + 600 });
    await keys.verify(token);
    vi.setSystemTime((now - 120) * 1000);
    expect(await failure(keys.verify(token))).toBe('not_yet_valid');
  });

  it('never serves a token signed with another secret from the cache of a token with the same claims', async () => {
    const keys = new JwtKeys(SECRET);
    const claims = { role: 'service_role', exp: Math.floor(Date.now() / 1000) + 600 };
    await keys.verify(await mint(claims));
    expect(await failure(keys.verify(await mint(claims, 'another-secret-that-is-at-least-32-characters')))).toBe('bad_signature');
  });

  it('hands out a copy, so a caller changing the claims does not change them for the next caller', async () => {
    const keys = new JwtKeys(SECRET);
    const token = await mint({ role: 'authenticated', exp: Math.floor(Date.now() / 1000) + 600 });
    const first = await keys.verify(token);
    first.role = 'service_role';
    expect((await keys.verify(token)).role).toBe('authenticated');
  });
});
