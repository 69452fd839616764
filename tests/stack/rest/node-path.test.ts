import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createGateway, type Gateway } from '../../../stack/gateway.ts';
import { RestApi } from '../../../stack/rest/api.ts';
import { useRestStack } from './helpers.ts';

// Reads of the Data API are answered on Node's request and response (Gateway.node); everything else goes through
// `fetch`. Both must answer alike: each request here is sent over HTTP and, to a second gateway on the same
// database, as a Web Request, and the answers are compared.
const t = useRestStack(async (stack) => {
  await stack.db.query(`insert into public.authors (id, name) values (1, 'Ada'), (2, 'Grace') on conflict do nothing`);
});

let api: RestApi;
let reference: Gateway;

beforeAll(async () => {
  const { stack } = t;
  api = new RestApi({ projectDir: '', dataDir: undefined, workDir: '', config: stack.config, db: stack.db, dbUrl: stack.dbUrl, jwt: stack.jwt, keys: stack.keys, apiUrl: stack.apiUrl, log: () => {} });
  await api.start();
  reference = createGateway({ keys: stack.keys, services: { rest: { fetch: (r) => api.handle(r), forward: (r) => api.forward(r) } } });
});

afterAll(async () => {
  await api?.close();
});

/** Headers that differ by transport, not by answer. */
const TRANSPORT = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);

function comparable(res: Response, body: string) {
  const headers = Object.fromEntries([...res.headers].filter(([name]) => !TRANSPORT.has(name)));
  return { status: res.status, headers, body };
}

async function both(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  const url = `${t.stack.apiUrl}${path}`;
  const overHttp = await fetch(url, init);
  const viaFetch = await reference.fetch(new Request(url, init));
  return { node: comparable(overHttp, await overHttp.text()), web: comparable(viaFetch, await viaFetch.text()) };
}

describe('Data API reads on Node objects', () => {
  const key = () => ({ apikey: t.stack.keys.publishable });

  it('answer exactly as through fetch: rows, CORS with and without an Origin, Content-Range', async () => {
    for (const headers of [key(), { ...key(), origin: 'http://localhost:3000' }, { ...key(), prefer: 'count=exact', range: '0-0' }]) {
      const { node, web } = await both('/rest/v1/authors?select=id,name&order=id', { headers });
      expect(node).toEqual(web);
      expect(node.status).toBeLessThan(300);
    }
  });

  it('answer errors, HEAD, CSV, a singular object and the root document exactly as through fetch', async () => {
    const cases: Array<[string, { method?: string; headers?: Record<string, string> }]> = [
      ['/rest/v1/nowhere?select=*', { headers: key() }],
      ['/rest/v1/authors?select=nope', { headers: key() }],
      ['/rest/v1/authors?select=id', { method: 'HEAD', headers: key() }],
      ['/rest/v1/authors?select=id,name&order=id', { headers: { ...key(), accept: 'text/csv' } }],
      ['/rest/v1/authors?select=id', { headers: { ...key(), accept: 'application/vnd.pgrst.object+json' } }],
      ['/rest/v1/authors?select=id&id=eq.1', { headers: { ...key(), accept: 'application/vnd.pgrst.object+json' } }],
      ['/rest/v1/', { headers: key() }],
      ['/rest/v1/authors?select=id', { headers: { ...key(), authorization: 'Bearer not.a.jwt' } }],
    ];
    for (const [path, init] of cases) {
      const { node, web } = await both(path, init);
      expect({ path, ...node }).toEqual({ path, ...web });
    }
  });

  it('read the API key from the query string and join repeated headers as Headers does', async () => {
    // (The key stays in the query, where the Data API reads it as a filter, both ways.)
    const { node, web } = await both(`/rest/v1/authors?select=id&apikey=${t.stack.keys.publishable}`, {});
    expect(node).toEqual(web);
    // Two Prefer headers on the wire (fetch would join them itself): both reach the Data API.
    const url = new URL(t.stack.apiUrl);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        socket.write(
          `GET /rest/v1/authors?select=id HTTP/1.1\r\nhost: ${url.host}\r\napikey: ${t.stack.keys.publishable}\r\n` +
            'prefer: count=exact\r\nprefer: tx=commit\r\nconnection: close\r\n\r\n',
        );
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const { rows } = await t.stack.db.query<{ n: number }>('select count(*)::int as n from public.authors');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain(`content-range: 0-${rows[0].n - 1}/${rows[0].n}`);
    expect(answer.toLowerCase()).toContain('preference-applied: count=exact, tx=commit');
  });

  it('are taken on Node objects, while writes and keyless requests still go through fetch', async () => {
    const forward = vi.spyOn(RestApi.prototype, 'forward');
    try {
      expect((await fetch(`${t.stack.apiUrl}/rest/v1/authors?select=id`, { headers: key() })).status).toBe(200);
      expect(forward).not.toHaveBeenCalled();
      const write = await fetch(`${t.stack.apiUrl}/rest/v1/counters`, { method: 'POST', headers: { ...key(), 'content-type': 'application/json' }, body: '{}' });
      await write.text();
      expect(forward).toHaveBeenCalledTimes(1);
      const keyless = await fetch(`${t.stack.apiUrl}/rest/v1/authors?select=id`);
      expect(keyless.status).toBe(401);
      expect(await keyless.json()).toEqual({ message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
    } finally {
      forward.mockRestore();
    }
  });
});
