import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { tempProject, type TempProject } from '../../helpers/project.ts';
import { startTestStack } from '../../helpers/stack.ts';

/** A request as the local HTTP server received it. */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let project: TempProject;
let stack: Stack;
let server: Server;
let base: string;
let received: Received[] = [];
/** Requests to /gate are answered only once this many have arrived. */
const GATE_SIZE = 3;
let gate: Array<() => void> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      if (req.url!.startsWith('/slow')) {
        const timer = setTimeout(() => res.end('late'), 10_000);
        res.on('close', () => clearTimeout(timer));
      } else if (req.url!.startsWith('/gate')) {
        gate.push(() => res.end('through'));
        if (gate.length === GATE_SIZE) for (const open of gate) open();
      } else {
        res.writeHead(202, { 'content-type': 'application/json', 'x-test': 'yes' }).end('{"queued":true}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  project = await tempProject({
    'supabase/migrations/20260101000000_enable_pg_net.sql': 'create extension if not exists pg_net with schema extensions;',
  });
  stack = await startTestStack({ projectDir: project.dir, scheduler: false });
});
afterAll(async () => {
  await stack?.stop();
  await project?.remove();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});
beforeEach(() => {
  received = [];
  gate = [];
});

async function queue(call: string, values: unknown[] = []): Promise<string> {
  return (await stack.db.query<{ id: string }>(`select ${call} as id`, values)).rows[0].id;
}

async function response(id: string) {
  const { rows } = await stack.db.query(
    `select status_code, content_type, headers, content, timed_out, error_msg from net._http_response where id = $1`,
    [id],
  );
  return rows[0];
}

describe('net.http_post, net.http_get and net.http_delete', () => {
  it('sends a request queued by a committed transaction, with its method, headers and body, and records the response', async () => {
    const id = await stack.db.tx(async (c) => {
      const { rows } = await c.query(
        `select net.http_post($1, '{"hello": "world"}', headers := '{"Authorization": "Bearer t0ken", "X-Custom": 7}') as id`,
        [`${base}/ok`],
      );
      return rows[0].id as string;
    });
    await stack.scheduler.tick();

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/ok', body: '{"hello": "world"}' });
    expect(received[0].headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer t0ken',
      'x-custom': '7',
      'user-agent': expect.stringMatching(/^pg_net\//),
    });
    expect(await response(id)).toEqual({
      status_code: 202,
      content_type: 'application/json',
      headers: expect.objectContaining({ 'content-type': 'application/json', 'x-test': 'yes' }),
      content: '{"queued":true}',
      timed_out: false,
      error_msg: null,
    });
    const queued = await stack.db.query('select count(*)::int as n from net.http_request_queue');
    expect(queued.rows).toEqual([{ n: 0 }]);
  });

  it('sends nothing for a request whose transaction rolled back', async () => {
    const before = await stack.db.query('select count(*)::int as n from net._http_response');
    const error = await stack.db
      .tx(async (c) => {
        await c.query('select net.http_post($1)', [`${base}/ok`]);
        throw new Error('changed my mind');
      })
      .catch((e: unknown) => e);
    expect((error as Error).message).toBe('changed my mind');
    await stack.scheduler.tick();

    expect(received).toEqual([]);
    const after = await stack.db.query('select count(*)::int as n from net._http_response');
    expect(after.rows).toEqual(before.rows);
  });

  it('url-encodes GET params into the query string and sends DELETE requests', async () => {
    const get = await queue(`net.http_get($1, '{"q": "a b&c", "city": "Zürich"}')`, [`${base}/ok?page=2`]);
    const del = await queue('net.http_delete($1)', [`${base}/ok/7`]);
    await stack.scheduler.tick();

    expect(received.map((r) => `${r.method} ${r.url}`).sort()).toEqual([
      'DELETE /ok/7',
      'GET /ok?page=2&q=a%20b%26c&city=Z%C3%BCrich',
    ]);
    expect((await response(get)).status_code).toBe(202);
    expect((await response(del)).status_code).toBe(202);
  });

  it('records a request that outlives its timeout as timed out, with pg_net’s message', async () => {
    const id = await queue('net.http_get($1, timeout_milliseconds := 200)', [`${base}/slow`]);
    await stack.scheduler.tick();

    expect(received.map((r) => r.url)).toEqual(['/slow']);
    expect(await response(id)).toEqual({
      status_code: null,
      content_type: null,
      headers: null,
      content: null,
      timed_out: true,
      error_msg: expect.stringMatching(/^Timeout of 200 ms reached\. Total time: \d+\.\d+ ms$/),
    });
  });

  it('records a refused connection as an error that did not time out', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const id = await queue('net.http_get($1)', [`http://127.0.0.1:${port}/`]);
    await stack.scheduler.tick();
    expect(await response(id)).toMatchObject({ status_code: null, timed_out: false, error_msg: "Couldn't connect to server" });
  });

  it('sends queued requests concurrently', async () => {
    // The gate answers only when all three requests are in, so one-at-a-time sending would time every one out.
    const ids = [];
    for (let i = 0; i < GATE_SIZE; i += 1) ids.push(await queue('net.http_get($1, timeout_milliseconds := 20000)', [`${base}/gate/${i}`]));
    await stack.scheduler.tick();
    for (const id of ids) expect(await response(id)).toMatchObject({ status_code: 200, content: 'through', timed_out: false });
  });

  it('drains a queue longer than the number of requests sent at once in one tick', async () => {
    const ids = [];
    for (let i = 0; i < 20; i += 1) ids.push(await queue('net.http_get($1)', [`${base}/ok/${i}`]));
    await stack.scheduler.tick();
    expect(received).toHaveLength(20);
    const { rows } = await stack.db.query('select count(*)::int as n from net._http_response where id = any($1) and status_code = 202', [ids]);
    expect(rows).toEqual([{ n: 20 }]);
  });

  it('refuses a POST whose Content-Type is not JSON, as pg_net does', async () => {
    const error = await queue(`net.http_post($1, '{}', headers := '{"content-type": "text/plain"}')`, [`${base}/ok`]).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('Content-Type header must be "application/json"');
  });

  it('prunes responses older than six hours', async () => {
    await stack.db.query(
      `insert into net._http_response (id, status_code, created) values (-1, 200, now() - interval '7 hours'), (-2, 200, now() - interval '5 hours')`,
    );
    // Pruning runs at most once a minute; a tick a few minutes ahead is due for it.
    await stack.scheduler.tick(new Date(Date.now() + 5 * 60_000));
    const { rows } = await stack.db.query('select id::int from net._http_response where id < 0 order by id');
    expect(rows).toEqual([{ id: -2 }]);
  });
});
