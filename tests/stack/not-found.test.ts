import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/index.ts';
import { startTestStack } from '../helpers/stack.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

async function jsonOf(response: Response) {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: response.status, body: await response.json() };
}

describe('unknown paths answer a JSON 404 in the shape of whoever owns the prefix', () => {
  it('gateway: a path no service owns is a 404 with or without an API key, as Kong routes before key-auth', async () => {
    const gateway404 = { status: 404, body: { message: 'no Route matched with those values' } };
    expect(await jsonOf(await fetch(`${stack.apiUrl}/nope/v1/x`))).toEqual(gateway404);
    expect(await jsonOf(await fetch(`${stack.apiUrl}/graphql/v1`, { headers: { apikey: stack.keys.publishable } }))).toEqual(gateway404);
  });

  it('storage: any unmatched method or path is the Storage API 404', async () => {
    for (const [method, path] of [
      ['GET', '/nothing/here'],
      ['PATCH', '/bucket/documents'],
      ['POST', '/object'],
    ]) {
      const res = await fetch(`${stack.apiUrl}/storage/v1${path}`, { method, headers: { apikey: stack.keys.publishable } });
      expect(await jsonOf(res)).toEqual({
        status: 404,
        body: { statusCode: '404', error: 'Not Found', message: `Route ${method}:${path} not found`, code: 'InvalidRequest' },
      });
    }
  });

  it('functions: an unknown function is the hosted NOT_FOUND body, readable by supabase-js', async () => {
    const res = await fetch(`${stack.apiUrl}/functions/v1/no-such-function/x`, { method: 'POST' });
    expect(await jsonOf(res)).toEqual({ status: 404, body: { code: 'NOT_FOUND', message: 'Requested function was not found' } });
  });
});
