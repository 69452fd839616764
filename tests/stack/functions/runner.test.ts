import { join } from 'node:path';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

const projectDir = join(import.meta.dirname, '..', '..', 'fixtures', 'functions-project');

let stack: Stack;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({ projectDir, log: (line) => logs.push(line) });
});

afterAll(async () => {
  await stack?.stop();
});

function call(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1${path}`, init);
}

describe('functions runner: routing and environment', () => {
  it('proxies method, path, query and body to the function and injects the Supabase environment', async () => {
    const response = await call('/echo/a/b?x=1', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ method: 'POST', path: '/echo/a/b', query: '?x=1', body: 'hello' });
    expect(body.env).toEqual({
      SUPABASE_URL: stack.apiUrl,
      SUPABASE_ANON_KEY: stack.keys.anon,
      SUPABASE_SERVICE_ROLE_KEY: stack.keys.serviceRole,
      SUPABASE_DB_URL: stack.dbUrl,
      SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: stack.keys.publishable }),
      SUPABASE_SECRET_KEYS: JSON.stringify({ default: stack.keys.secret }),
      FIXTURE_SECRET: 'from-dotenv',
      SUPABASE_RESERVED_TRY: null,
      HOME: null,
    });
  });

  it('streams a request body to the function', async () => {
    const encoder = new TextEncoder();
    const parts = ['one,', 'two,', 'three'];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = parts.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(encoder.encode(next));
      },
    });
    const response = await call('/echo', { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(200);
    expect((await response.json()).body).toBe('one,two,three');
  });

  it('answers an unknown function with the hosted JSON 404 NOT_FOUND', async () => {
    for (const path of ['/nope', '/nope/deeper', '/']) {
      const response = await call(path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('sb-error-code')).toBe('NOT_FOUND');
      expect(await response.json()).toEqual({ code: 'NOT_FOUND', message: 'Requested function was not found' });
    }
  });

  it('never serves folders starting with _ or functions disabled in config.toml', async () => {
    for (const path of ['/_helpers', '/disabled']) {
      const response = await call(path);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ code: 'NOT_FOUND', message: 'Requested function was not found' });
    }
  });
});

describe('functions runner: verify_jwt', () => {
  it('returns 401 when a verify_jwt function is called without Authorization', async () => {
    const response = await call('/protected');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ msg: 'Error: Missing authorization header' });
  });

  it('returns 401 when the Authorization scheme is not Bearer', async () => {
    const response = await call('/protected', { headers: { authorization: 'Basic dXNlcjpwYXNz' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ msg: "Error: Auth header is not 'Bearer {token}'" });
  });

  it('returns 401 Invalid JWT for a token signed with another secret', async () => {
    const token = await new SignJWT({ role: 'authenticated', sub: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('another-secret-another-secret-another-secret'));
    const response = await call('/protected', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ msg: 'Invalid JWT' });
  });

  it('returns 401 Invalid JWT for a token that is not a JWT', async () => {
    const response = await call('/protected', { headers: { authorization: 'Bearer not-a-jwt' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ msg: 'Invalid JWT' });
  });

  it('lets a request with the publishable key through (the gateway swaps in the anon JWT)', async () => {
    const response = await call('/protected', { headers: { apikey: stack.keys.publishable } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reached: true });
  });

  it('lets a request with a stack-signed user token through', async () => {
    const token = await stack.jwt.sign({
      sub: crypto.randomUUID(),
      role: 'authenticated',
      aud: 'authenticated',
      exp: Math.floor(Date.now() / 1000) + 60,
    });
    const response = await call('/protected', { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
  });

  it('does not check OPTIONS requests (CORS preflights carry no Authorization)', async () => {
    const response = await call('/protected', { method: 'OPTIONS' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ reached: true });
  });

  it('does not check functions with verify_jwt = false', async () => {
    const response = await call('/echo');
    expect(response.status).toBe(200);
  });
});

describe('functions runner: failures', () => {
  it('returns 503 BOOT_ERROR when the function throws while loading, on every request', async () => {
    for (let i = 0; i < 2; i++) {
      const response = await call('/boot-error');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ code: 'BOOT_ERROR', message: 'Worker failed to boot (please check logs)' });
    }
    expect(logs.some((line) => line.startsWith('[functions:boot-error]') && line.includes('fixture: boot failure'))).toBe(true);
  });

  it('returns 500 WORKER_ERROR when the function crashes mid-request, and restarts it on the next request', async () => {
    const before = await call('/crash/pid');
    expect(before.status).toBe(200);
    const { pid: firstPid } = await before.json();

    const crashed = await call('/crash/die');
    expect(crashed.status).toBe(500);
    expect(await crashed.json()).toEqual({
      code: 'WORKER_ERROR',
      message: 'Function exited due to an error (please check logs)',
    });

    const after = await call('/crash/pid');
    expect(after.status).toBe(200);
    const { pid: secondPid } = await after.json();
    expect(secondPid).not.toBe(firstPid);
    expect(logs.some((line) => line.startsWith('[functions:crash]') && line.includes('fixture: crash'))).toBe(true);
  });
});
