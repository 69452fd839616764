import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createAdaptorServer } from '@hono/node-server';
import pg from 'pg';
import { createGateway } from '../stack/gateway.ts';
import { createStack } from '../stack/index.ts';
import { JwtKeys } from '../stack/jwt.ts';
import { RestApi } from '../stack/rest/api.ts';
import { parseServerTiming } from '../stack/rest/timing.ts';

/** Options of the REST benchmark; every phase is bounded by both a request count and a time budget. */
interface Options {
  requests: number;
  seconds: number;
  concurrency: number;
  rows: number;
}

interface Phase {
  name: string;
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Runs each phase's `once(i)` up to `requests` times (or until `seconds` per phase pass) with `concurrency` workers.
 * Phases compared with each other take turns in blocks (a tenth of the requests each), so a machine that speeds up or
 * slows down during the run affects them alike. Each phase's rate is its requests over the time its own blocks took.
 */
async function measureTogether(phases: Array<{ name: string; once: (i: number) => Promise<void> }>, options: Options): Promise<Phase[]> {
  const blocks = 10;
  const perBlock = Math.max(1, Math.ceil(options.requests / blocks));
  const latencies = phases.map(() => [] as number[]);
  const spent = phases.map(() => 0);
  const deadline = performance.now() + options.seconds * 1000 * phases.length;
  for (let block = 0; block < blocks && performance.now() < deadline; block++) {
    for (const [k, phase] of phases.entries()) {
      let next = block * perBlock;
      const end = Math.min(options.requests, next + perBlock);
      const start = performance.now();
      const worker = async () => {
        while (next < end) {
          const i = next++;
          const t0 = performance.now();
          await phase.once(i);
          latencies[k].push(performance.now() - t0);
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      spent[k] += performance.now() - start;
    }
  }
  return phases.map((phase, k) => {
    const sorted = latencies[k].sort((a, b) => a - b);
    const seconds = spent[k] / 1000;
    return {
      name: phase.name,
      requests: sorted.length,
      seconds: Number(seconds.toFixed(3)),
      perSecond: Number((sorted.length / seconds).toFixed(1)),
      p50Ms: Number(percentile(sorted, 50).toFixed(3)),
      p99Ms: Number(percentile(sorted, 99).toFixed(3)),
    };
  });
}

/** One phase on its own (see {@link measureTogether}). */
async function measure(name: string, options: Options, once: (i: number) => Promise<void>): Promise<Phase> {
  const [phase] = await measureTogether([{ name, once }], options);
  return phase;
}

/** A GET over a keep-alive node:http agent: the lightest loopback HTTP client Node has, so the server is measured. */
function httpGet(agent: http.Agent, url: URL, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

const ms = (n: number) => Number(n.toFixed(3));

/**
 * `GET /functions/v1/<name>/healthz` through the gateway and the functions runner, versus the same request sent to the
 * function's Deno process directly, on a second stack serving this repository's functions.
 */
async function measureFunctionProxy(
  name: string,
  options: Options,
  agent: http.Agent,
): Promise<{ viaGateway: Phase; direct: Phase; addedP50Ms: number } | undefined> {
  let port = 0;
  const stack = await createStack({
    projectDir: fileURLToPath(new URL('..', import.meta.url)),
    ephemeral: true,
    apiPort: 0,
    dbPort: 0,
    seed: false,
    scheduler: false,
    host: '127.0.0.1',
    // The runner logs the port it gives the function's process.
    log: (line) => {
      const m = /\[functions:[^\]]+\] booting \(port (\d+)\)/.exec(line);
      if (m) port = Number(m[1]);
    },
  });
  try {
    const headers = { apikey: stack.keys.publishable };
    const check = (res: { status: number }) => {
      if (res.status !== 200) throw new Error(`unexpected response ${res.status}`);
    };
    const viaGateway = async () => check(await httpGet(agent, new URL(`/functions/v1/${name}/healthz`, stack.apiUrl), headers));
    try {
      await viaGateway();
    } catch (error) {
      console.log(`\nFunction proxy: skipped (${(error as Error).message})`);
      return undefined;
    }
    const direct = async () => check(await httpGet(agent, new URL(`http://127.0.0.1:${port}/${name}/healthz`), {}));
    for (const once of [viaGateway, direct]) await measure('warmup', { ...options, requests: 200, concurrency: 1 }, once);
    const [gatewayPhase, directPhase] = await measureTogether(
      [
        { name: 'through the gateway', once: viaGateway },
        { name: 'Deno process directly', once: direct },
      ],
      options,
    );
    return { viaGateway: gatewayPhase, direct: directPhase, addedP50Ms: ms(gatewayPhase.p50Ms - directPhase.p50Ms) };
  } finally {
    await stack.stop();
  }
}

/**
 * Single-row select by primary key: through the gateway and the Data API over real HTTP on loopback
 * (`GET /rest/v1/bench_items?select=*&id=eq.N`, as anon under RLS), versus the same SELECT sent straight to the
 * database with pg over TCP, in the same run against the same ephemeral PGlite, the two taking turns in blocks (see
 * {@link measureTogether}). Further phases take the request apart: the
 * HTTP floor (the same HTTP server answering a fixed body), the gateway and the Data API called in process, the
 * Data API's own `Server-Timing` (jwt, parse, plan, transaction), and JWT verification with and without its cache.
 */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '15' },
      concurrency: { type: 'string', default: '1' },
      rows: { type: 'string', default: '1000' },
      // The Edge Function whose `GET /<name>/healthz` measures the function proxy; `none` skips that part.
      function: { type: 'string', default: 'token' },
    },
  });
  const options: Options = {
    requests: Math.max(1, Number(values.requests)),
    seconds: Math.max(1, Number(values.seconds)),
    concurrency: Math.max(1, Number(values.concurrency)),
    rows: Math.max(1, Number(values.rows)),
  };
  const projectDir = await mkdtemp(join(tmpdir(), 'edgebrain-bench-'));
  const stack = await createStack({ projectDir, ephemeral: true, apiPort: 0, dbPort: 0, seed: false, host: '127.0.0.1' });
  const direct = new pg.Client({ connectionString: stack.dbUrl });
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const rowBody = JSON.stringify([{ id: 1, name: 'item 1', value: 7 }]);
  const floor = createAdaptorServer({ fetch: () => new Response(rowBody, { headers: { 'content-type': 'application/json; charset=utf-8' } }) });
  // The same, but the handler first awaits one trivial query: what HTTP costs around database I/O in one event loop.
  const selectOne = async () => {
    await stack.db.pool.query('select 1');
    return new Response(rowBody, { headers: { 'content-type': 'application/json; charset=utf-8' } });
  };
  const floorDb = createAdaptorServer({ fetch: selectOne });
  // A second Data API on the same database, called in process, reporting Server-Timing.
  const timed = new RestApi(
    { projectDir, dataDir: undefined, workDir: projectDir, config: stack.config, db: stack.db, dbUrl: stack.dbUrl, jwt: stack.jwt, keys: stack.keys, apiUrl: stack.apiUrl, log: () => {} },
    { serverTiming: true },
  );
  try {
    await stack.db.query(`
      create table public.bench_items (id int primary key, name text not null, value int not null);
      alter table public.bench_items enable row level security;
      create policy bench_items_select_anon on public.bench_items for select to anon using (true);
      grant select on public.bench_items to anon;
      insert into public.bench_items select g, 'item ' || g, g * 7 from generate_series(1, ${options.rows}) g;
      analyze public.bench_items;`);
    await direct.connect();
    await timed.start();
    const floorPort = await listen(floor as http.Server);
    const floorDbPort = await listen(floorDb as http.Server);
    const gateway = createGateway({ keys: stack.keys, services: { rest: { fetch: (request) => timed.handle(request), forward: (request) => timed.forward(request) } } });
    const key = (i: number) => (i % options.rows) + 1;
    const path = (i: number) => `/rest/v1/bench_items?select=*&id=eq.${key(i)}`;
    const headers = { apikey: stack.keys.publishable, accept: 'application/json' };
    const expectOne = (status: number, body: string) => {
      const rows = JSON.parse(body) as unknown[];
      if (status !== 200 || rows.length !== 1) throw new Error(`unexpected response ${status}`);
    };

    const viaRest = async (i: number) => {
      const res = await httpGet(agent, new URL(path(i), stack.apiUrl), headers);
      expectOne(res.status, res.body);
    };
    const viaFetch = async (i: number) => {
      const res = await fetch(new URL(path(i), stack.apiUrl), { headers });
      expectOne(res.status, await res.text());
    };
    const viaPg = async (i: number) => {
      const { rows } = await direct.query('select * from public.bench_items where id = $1', [key(i)]);
      if (rows.length !== 1) throw new Error('unexpected row count');
    };
    const viaFloor = async (i: number) => {
      const res = await httpGet(agent, new URL(path(i), `http://127.0.0.1:${floorPort}`), headers);
      expectOne(res.status, res.body);
    };
    const viaFloorDb = async (i: number) => {
      const res = await httpGet(agent, new URL(path(i), `http://127.0.0.1:${floorDbPort}`), headers);
      expectOne(res.status, res.body);
    };
    const inProcessDb = async () => {
      const res = await selectOne();
      expectOne(res.status, await res.text());
    };
    const viaGateway = async (i: number) => {
      const res = await gateway.fetch(new Request(new URL(path(i), stack.apiUrl), { headers }));
      expectOne(res.status, await res.text());
    };
    const serverTiming = new Map<string, number[]>();
    const viaApi = async (i: number) => {
      const res = await timed.handle(
        new Request(new URL(`/bench_items?select=*&id=eq.${key(i)}`, 'http://rest.local'), { headers: { authorization: `Bearer ${stack.keys.anon}` } }),
      );
      expectOne(res.status, await res.text());
      for (const [name, dur] of parseServerTiming(res.headers.get('server-timing'))) {
        const list = serverTiming.get(name) ?? [];
        list.push(dur);
        serverTiming.set(name, list);
      }
    };
    const jwtCold = async () => {
      await new JwtKeys(stack.jwt.secretText).verify(stack.keys.anon);
    };
    const jwtCached = async () => {
      await stack.jwt.verify(stack.keys.anon);
    };

    // Warm up every path (JIT, plans, keep-alive sockets).
    for (const once of [viaRest, viaPg, viaFetch, viaFloor, viaFloorDb, inProcessDb, viaGateway, viaApi]) await measure('warmup', { ...options, requests: 200, concurrency: 1 }, once);
    serverTiming.clear();

    const [rest, db] = await measureTogether(
      [
        { name: 'rest', once: viaRest },
        { name: 'pg', once: viaPg },
      ],
      options,
    );
    const restFetch = await measure('rest-fetch', options, viaFetch);
    const httpFloor = await measure('http-floor', options, viaFloor);
    const httpFloorDb = await measure('http-floor-db', options, viaFloorDb);
    const inProcessSelectOne = await measure('select-one-in-process', options, inProcessDb);
    const inGateway = await measure('gateway-in-process', options, viaGateway);
    const inApi = await measure('rest-in-process', options, viaApi);
    const small = { ...options, concurrency: 1, requests: Math.min(options.requests, 1000) };
    const cold = await measure('jwt-verify', small, jwtCold);
    const cached = await measure('jwt-verify-cached', small, jwtCached);
    const ratio = Number((db.perSecond / rest.perSecond).toFixed(2));
    const proxy = values.function === 'none' ? undefined : await measureFunctionProxy(values.function ?? 'token', options, agent);

    // Medians: on a shared machine a few slow requests would swamp the means.
    const timingMs = Object.fromEntries([...serverTiming].map(([name, list]) => [name, ms(percentile(list.sort((a, b) => a - b), 50))]));
    const breakdown = {
      'HTTP server + client (fixed answer, same server)': httpFloor.p50Ms,
      'HTTP around a handler that awaits the database (the same answer after a `select 1`, minus that query in process)': ms(
        Math.max(0, httpFloorDb.p50Ms - inProcessSelectOne.p50Ms - httpFloor.p50Ms),
      ),
      'gateway (routing, API key, CORS)': ms(Math.max(0, inGateway.p50Ms - inApi.p50Ms)),
      'Data API: jwt': timingMs.jwt ?? 0,
      'Data API: parse (URL, headers)': timingMs.parse ?? 0,
      'Data API: plan (SQL and response building)': timingMs.plan ?? 0,
      'Data API: transaction (one round trip to the database)': timingMs.transaction ?? 0,
    } as Record<string, number>;
    const accounted = Object.values(breakdown).reduce((a, b) => a + b, 0);
    breakdown['the rest (event loop, pool checkout, the code between the parts)'] = ms(Math.max(0, rest.p50Ms - accounted));

    console.log(`\nSingle-row select by key (${options.rows} rows, concurrency ${options.concurrency})\n`);
    console.log('| path | requests | req/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    const labels: Record<string, string> = {
      rest: 'GET /rest/v1 (HTTP keep-alive, gateway, anon + RLS)',
      pg: 'pg direct (same SELECT)',
      'rest-fetch': 'GET /rest/v1 with fetch() as the client',
      'http-floor': 'HTTP floor: same server, fixed body',
      'http-floor-db': 'HTTP floor with a `select 1` before the fixed body',
      'select-one-in-process': '`select 1` through the pool, in process',
      'gateway-in-process': 'gateway + Data API in process (no HTTP)',
      'rest-in-process': 'Data API in process (no HTTP, no gateway)',
      'jwt-verify': 'JWT verify (HS256, uncached)',
      'jwt-verify-cached': 'JWT verify (cached)',
    };
    for (const p of [rest, db, restFetch, httpFloor, httpFloorDb, inProcessSelectOne, inGateway, inApi, cold, cached]) {
      console.log(`| ${labels[p.name]} | ${p.requests} | ${p.perSecond} | ${p.p50Ms} | ${p.p99Ms} |`);
    }
    console.log(`\nWhere a request's time goes (median ms, concurrency ${options.concurrency}; the whole request over HTTP: ${rest.p50Ms} ms):\n`);
    console.log('| part | ms |');
    console.log('|---|---:|');
    for (const [part, value] of Object.entries(breakdown)) console.log(`| ${part} | ${value} |`);
    console.log(`\npg direct is ${ratio}x the Data API's throughput (REST reaches ${((rest.perSecond / db.perSecond) * 100).toFixed(1)}%).`);
    if (proxy) {
      console.log(`\nFunction proxy: GET /functions/v1/${values.function}/healthz through the gateway vs straight to its Deno process\n`);
      console.log('| path | requests | req/s | p50 ms | p99 ms |');
      console.log('|---|---:|---:|---:|---:|');
      for (const p of [proxy.viaGateway, proxy.direct]) console.log(`| ${p.name} | ${p.requests} | ${p.perSecond} | ${p.p50Ms} | ${p.p99Ms} |`);
      console.log(`\nThe proxy adds ${proxy.addedP50Ms} ms at the median.`);
    }

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const file = new URL(`rest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, resultsDir);
    const result = {
      benchmark: 'rest',
      date: new Date().toISOString(),
      node: process.version,
      options,
      phases: { rest, pg: db, restFetch, httpFloor, httpFloorDb, selectOneInProcess: inProcessSelectOne, gatewayInProcess: inGateway, restInProcess: inApi, jwtVerify: cold, jwtVerifyCached: cached },
      breakdownMs: breakdown,
      functionProxy: proxy,
      ratioPgOverRest: ratio,
    };
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`Wrote ${file.pathname}`);
  } finally {
    agent.destroy();
    floor.close();
    floorDb.close();
    await timed.close().catch(() => {});
    await direct.end().catch(() => {});
    await stack.stop();
    await rm(projectDir, { recursive: true, force: true });
  }
}
