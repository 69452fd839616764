import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../stack/gateway.ts';
import type { Stack } from '../../stack/index.ts';
import { startTestStack } from '../helpers/stack.ts';

describe('gateway', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('returns 401 like hosted Supabase when a request carries no API key', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/anything`);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      message: 'No API key found in request',
      hint: 'No `apikey` request header or url param was found.',
    });
  });

  it('returns 401 for an API key the stack did not issue', async () => {
    const res = await fetch(`${stack.apiUrl}/auth/v1/health`, { headers: { apikey: 'sb_publishable_nope' } });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      message: 'Invalid API key',
      hint: 'Double check your Supabase `anon` or `service_role` API key.',
    });
  });

  it('returns a JSON 404 for a path no service owns', async () => {
    const res = await fetch(`${stack.apiUrl}/nope/v1/x`, { headers: { apikey: stack.keys.publishable } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ message: 'no Route matched with those values' });
  });

  it('answers CORS preflights by reflecting the requested headers', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/documents`, {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:3000',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, apikey, prefer, x-client-info',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    expect(res.headers.get('access-control-allow-headers')).toBe('authorization, apikey, prefer, x-client-info');
    expect(res.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(res.headers.get('access-control-expose-headers')).toContain('Content-Range');
  });

  it('answers 500 on the Node path when the Data API itself fails, and leaves other requests to fetch', async () => {
    const gateway = createGateway({
      keys: stack.keys,
      services: {
        rest: {
          fetch: () => new Response('web'),
          forward: () => new Response('web'),
          plain: () => Promise.reject(new Error('the Data API broke')),
        },
      },
    });
    const server = createServer((req, res) => {
      if (!gateway.node(req, res)) {
        res.writeHead(299);
        res.end('not taken');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const failed = await fetch(`${base}/rest/v1/things`, { headers: { apikey: stack.keys.publishable } });
      expect({ status: failed.status, body: await failed.text() }).toEqual({ status: 500, body: 'the Data API broke' });
      const others: RequestInit[] = [{ method: 'POST', headers: { apikey: stack.keys.publishable } }, {}, { headers: { apikey: 'sb_publishable_nope' } }];
      for (const init of others) {
        const res = await fetch(`${base}/rest/v1/things`, init);
        expect({ status: res.status, body: await res.text() }).toEqual({ status: 299, body: 'not taken' });
      }
      const other = await fetch(`${base}/storage/v1/bucket`, { headers: { apikey: stack.keys.publishable } });
      expect(other.status).toBe(299);
      await other.text();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
