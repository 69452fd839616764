import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

// End to end (real Deno behind the lite stack's gateway): U+0000 in a grant is an OAuth invalid_request at once,
// not a Supabase Auth 5xx that supabase-js retries until the function answers 503.
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
});
afterAll(async () => stack?.stop());

it('answers a username or refresh token holding U+0000 with 400 invalid_request', async () => {
  for (const [fields, name] of [
    [{ grant_type: 'password', username: '\u0000@x.y', password: 'pw' }, 'username'],
    [{ grant_type: 'refresh_token', refresh_token: '\u0000' }, 'refresh_token'],
  ] as const) {
    const response = await fetch(`${stack.apiUrl}/functions/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: 'invalid_request', error_description: `Parameter ${name} is invalid.` });
  }
});
