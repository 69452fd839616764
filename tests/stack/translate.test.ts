import { describe, expect, it } from 'vitest';
import { DEFAULT_KEYS } from '../../stack/defaults.ts';
import { translateAuthorization } from '../../stack/gateway.ts';

function run(authorization: string | undefined, apikey: string | null): string | null {
  const headers = new Headers(authorization ? { authorization } : {});
  translateAuthorization(headers, apikey, DEFAULT_KEYS);
  return headers.get('authorization');
}

describe('translateAuthorization (the CLI Kong rule)', () => {
  it('passes a user JWT through unchanged', () => {
    expect(run('Bearer eyJuser', DEFAULT_KEYS.publishable)).toBe('Bearer eyJuser');
  });
  it('swaps the secret key for the service_role JWT', () => {
    expect(run(`Bearer ${DEFAULT_KEYS.secret}`, DEFAULT_KEYS.secret)).toBe(`Bearer ${DEFAULT_KEYS.serviceRole}`);
  });
  it('swaps the publishable key for the anon JWT', () => {
    expect(run(`Bearer ${DEFAULT_KEYS.publishable}`, DEFAULT_KEYS.publishable)).toBe(`Bearer ${DEFAULT_KEYS.anon}`);
    expect(run(undefined, DEFAULT_KEYS.publishable)).toBe(`Bearer ${DEFAULT_KEYS.anon}`);
  });
  it('copies any other apikey raw, without a Bearer prefix', () => {
    expect(run(undefined, DEFAULT_KEYS.anon)).toBe(DEFAULT_KEYS.anon);
  });
  it('leaves headers alone with no apikey and no Authorization', () => {
    expect(run(undefined, null)).toBeNull();
  });
});
