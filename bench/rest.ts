import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createStack } from '../stack/index.ts';

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

/** Runs `once(i)` up to `requests` times (or until `seconds` pass) with `concurrency` workers. */
async function measure(name: string, options: Options, once: (i: number) => Promise<void>): Promise<Phase> {
  const latencies: number[] = [];
  const deadline = performance.now() + options.seconds * 1000;
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < options.requests && performance.now() < deadline) {
      const i = next++;
      const t0 = performance.now();
      await once(i);
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requests: latencies.length,
    seconds: Number(seconds.toFixed(3)),
    perSecond: Number((latencies.length / seconds).toFixed(1)),
    p50Ms: Number(percentile(latencies, 50).toFixed(3)),
    p99Ms: Number(percentile(latencies, 99).toFixed(3)),
  };
}

/**
 * Single-row select by primary key: through the gateway and the Data API over real HTTP on loopback
 * (`GET /rest/v1/bench_items?select=*&id=eq.N`, as anon under RLS), versus the same SELECT sent straight to the
 * database with pg, in the same run against the same ephemeral PGlite.
 */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '15' },
      concurrency: { type: 'string', default: '1' },
      rows: { type: 'string', default: '1000' },
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
  try {
    await stack.db.query(`
      create table public.bench_items (id int primary key, name text not null, value int not null);
      alter table public.bench_items enable row level security;
      create policy bench_items_select_anon on public.bench_items for select to anon using (true);
      grant select on public.bench_items to anon;
      insert into public.bench_items select g, 'item ' || g, g * 7 from generate_series(1, ${options.rows}) g;
      analyze public.bench_items;`);
    await direct.connect();
    const url = `${stack.apiUrl}/rest/v1/bench_items`;
    const headers = { apikey: stack.keys.publishable, accept: 'application/json' };
    const key = (i: number) => (i % options.rows) + 1;

    const viaRest = async (i: number) => {
      const res = await fetch(`${url}?select=*&id=eq.${key(i)}`, { headers });
      const body = (await res.json()) as unknown[];
      if (res.status !== 200 || body.length !== 1) throw new Error(`unexpected response ${res.status}`);
    };
    const viaPg = async (i: number) => {
      const { rows } = await direct.query('select * from public.bench_items where id = $1', [key(i)]);
      if (rows.length !== 1) throw new Error('unexpected row count');
    };
    // Warm up both paths (JIT, prepared plans, keep-alive sockets).
    await measure('warmup', { ...options, requests: 200, concurrency: 1 }, viaRest);
    await measure('warmup', { ...options, requests: 200, concurrency: 1 }, viaPg);

    const rest = await measure('rest', options, viaRest);
    const db = await measure('pg', options, viaPg);
    const ratio = Number((db.perSecond / rest.perSecond).toFixed(2));

    console.log(`\nSingle-row select by key (${options.rows} rows, concurrency ${options.concurrency})\n`);
    console.log('| path | requests | req/s | p50 ms | p99 ms |');
    console.log('|---|---:|---:|---:|---:|');
    for (const p of [rest, db]) {
      const label = p.name === 'rest' ? 'GET /rest/v1 (HTTP, gateway, anon + RLS)' : 'pg direct (same SELECT)';
      console.log(`| ${label} | ${p.requests} | ${p.perSecond} | ${p.p50Ms} | ${p.p99Ms} |`);
    }
    console.log(`\npg direct is ${ratio}x the Data API's throughput (REST reaches ${((rest.perSecond / db.perSecond) * 100).toFixed(1)}%).`);

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const file = new URL(`rest-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, resultsDir);
    const result = {
      benchmark: 'rest',
      date: new Date().toISOString(),
      node: process.version,
      options,
      phases: { rest, pg: db },
      ratioPgOverRest: ratio,
    };
    await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`Wrote ${file.pathname}`);
  } finally {
    await direct.end().catch(() => {});
    await stack.stop();
    await rm(projectDir, { recursive: true, force: true });
  }
}
