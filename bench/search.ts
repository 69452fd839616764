/**
 * `npm run bench -- search [--sizes 10000,100000] [--queries 50] [--share 0.01]`
 *
 * How to read it: for each table size, the vector part of retrieval (`order by embedding <=> q limit 10`, what
 * `match_document_chunks` runs) is measured three ways in the same run on the same ephemeral PGlite: the HNSW
 * index (ef_search 100, iterative scan on, as the function sets it), the exact scan (index disabled), and —
 * for a user who owns only `share` of the chunks, under row-level security — the index with and without
 * pgvector's iterative scan. Recall@10 is the overlap of each answer with the exact top 10; the speed-up is exact
 * latency over index latency (p50). Vectors are clustered (like real embeddings: documents cover topics), 384
 * dimensions. The HNSW index is built after loading, as pgvector recommends, and its build time is printed.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { createStack } from '../stack/index.ts';
import type { Db } from '../stack/db/pool.ts';

const DIMENSIONS = 384;
const CLUSTERS = 200;
/** Per-dimension noise around a cluster centre: a noise vector about 0.6 long against a unit centre, so neighbours are
 * topical, as with real embeddings (pure noise in 384 dimensions makes every distance alike, which no index likes). */
const SPREAD = 0.03;

interface Row {
  size: number;
  scope: string;
  method: string;
  p50Ms: number;
  p95Ms: number;
  recallAt10: number;
}

/** A deterministic pseudo-random generator, so runs compare. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return state / 2 ** 32;
  };
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

function normalise(v: number[]): number[] {
  const norm = Math.hypot(...v) || 1;
  return v.map((x) => x / norm);
}

const literal = (v: number[]) => `[${v.map((x) => x.toFixed(5)).join(',')}]`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { sizes: { type: 'string', default: '10000,100000' }, queries: { type: 'string', default: '50' }, share: { type: 'string', default: '0.01' } },
  });
  const sizes = values.sizes!.split(',').map(Number);
  const queries = Number(values.queries);
  const share = Number(values.share);
  const random = rng(42);
  const centers = Array.from({ length: CLUSTERS }, () => normalise(Array.from({ length: DIMENSIONS }, () => gaussian(random))));
  const near = (center: number[], spread: number) => normalise(center.map((x) => x + gaussian(random) * spread));
  const rows: Row[] = [];

  for (const size of sizes) {
    const stack = await createStack({ ephemeral: true, apiPort: 0, dbPort: 0, seed: false, scheduler: false });
    try {
      const db = stack.db;
      const big = randomUUID();
      const small = randomUUID();
      for (const id of [big, small]) {
        await db.query(
          `insert into auth.users (instance_id, id, aud, role, email) values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2)`,
          [id, `${id}@bench.local`],
        );
      }
      const docs: Record<string, string> = {};
      for (const owner of [big, small]) {
        const { rows: [doc] } = await db.query<{ id: string }>(
          `insert into public.documents (owner_id, storage_path, name, status, embedder) values ($1::uuid, $1::text || '/bench.txt', 'bench.txt', 'ready', 'bench') returning id`,
          [owner],
        );
        docs[owner] = doc.id;
      }
      await db.query('drop index public.document_chunks_embedding_idx');
      const smallCount = Math.max(10, Math.round(size * share));
      process.stderr.write(`search: loading ${size} chunks (${smallCount} owned by the small user)…\n`);
      const started = performance.now();
      const batch = 1000;
      for (let from = 0; from < size; from += batch) {
        const vectors: string[] = [];
        const owners: string[] = [];
        const indexes: number[] = [];
        for (let i = from; i < Math.min(size, from + batch); i++) {
          // Spread the small user's chunks over every cluster, as real users' documents are.
          const owner = i % Math.round(size / smallCount) === 0 ? small : big;
          owners.push(owner);
          indexes.push(i);
          vectors.push(literal(near(centers[i % CLUSTERS], SPREAD)));
        }
        await db.query(
          `insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
           select case when o = $4::uuid then $5::uuid else $6::uuid end, o, i, 'chunk ' || i, 2, v::extensions.vector
             from unnest($1::uuid[], $2::int[], $3::text[]) as t (o, i, v)`,
          [owners, indexes, vectors, small, docs[small], docs[big]],
        );
        if ((from / batch) % 20 === 0) process.stderr.write(`search: ${Math.min(size, from + batch)}/${size} loaded\n`);
      }
      const loaded = performance.now();
      process.stderr.write('search: building the HNSW index…\n');
      await db.query('create index document_chunks_embedding_idx on public.document_chunks using hnsw (embedding extensions.vector_cosine_ops)');
      // As the worker keeps it: search picks its plan by how many chunks the caller's documents have.
      await db.query('update public.documents d set chunk_count = (select count(*) from public.document_chunks c where c.document_id = d.id)');
      await db.query('analyze public.document_chunks');
      const built = performance.now();
      const actualSmall = (await db.query<{ n: number }>('select count(*)::int as n from public.document_chunks where owner_id = $1', [small])).rows[0].n;
      process.stderr.write(`search: loaded in ${((loaded - started) / 1000).toFixed(1)} s, index built in ${((built - loaded) / 1000).toFixed(1)} s; small user owns ${actualSmall}\n`);

      const probes = Array.from({ length: queries }, (_, i) => literal(near(centers[(i * 7) % CLUSTERS], SPREAD)));
      const topTen = async (q: string, settings: string[] | 'function', asUser?: string): Promise<{ ids: string[]; ms: number }> => {
        let ms = 0;
        const ids = await db.tx(async (client) => {
          for (const setting of settings === 'function' ? [] : settings) await client.query(setting);
          if (asUser) {
            await client.query('set local role authenticated');
            await client.query("select set_config('request.jwt.claims', $1, true)", [JSON.stringify({ sub: asUser, role: 'authenticated' })]);
          }
          // Only the search is timed, not the transaction's set-up.
          const t0 = performance.now();
          const result =
            settings === 'function'
              ? await client.query<{ id: string }>(
                  "select chunk_id as id from public.match_document_chunks($1::extensions.vector, '', 10, null, null, null, 40, 60)",
                  [q],
                )
              : await client.query<{ id: string }>(
                  `select id from public.document_chunks where embedding is not null
                    order by embedding operator(extensions.<=>) $1::extensions.vector limit 10`,
                  [q],
                );
          ms = performance.now() - t0;
          return result.rows.map((r) => String(r.id));
        });
        return { ids, ms };
      };
      const EXACT = ['set local enable_indexscan = off', 'set local enable_bitmapscan = off'];
      const HNSW = ['set local hnsw.ef_search = 100', "set local hnsw.iterative_scan = 'relaxed_order'"];
      const PLAIN = ['set local hnsw.ef_search = 100', "set local hnsw.iterative_scan = 'off'"];
      const measure = async (scope: string, method: string, settings: string[] | 'function', user?: string) => {
        const times: number[] = [];
        let overlap = 0;
        for (const q of probes) {
          const exact = await topTen(q, EXACT, user);
          const got = settings === EXACT ? exact : await topTen(q, settings, user);
          times.push(got.ms);
          overlap += got.ids.filter((id) => exact.ids.includes(id)).length / Math.max(1, exact.ids.length);
        }
        times.sort((a, b) => a - b);
        const row = { size, scope, method, p50Ms: Number(percentile(times, 50).toFixed(2)), p95Ms: Number(percentile(times, 95).toFixed(2)), recallAt10: Number((overlap / probes.length).toFixed(3)) };
        rows.push(row);
        process.stderr.write(`search: ${size} ${scope} ${method}: p50 ${row.p50Ms} ms, recall@10 ${row.recallAt10}\n`);
      };
      await measure('all chunks', 'exact scan', EXACT);
      await measure('all chunks', 'hnsw', HNSW);
      await measure(`user owning ${actualSmall} (RLS)`, 'exact scan', EXACT, small);
      await measure(`user owning ${actualSmall} (RLS)`, 'hnsw, iterative scan', HNSW, small);
      await measure(`user owning ${actualSmall} (RLS)`, 'hnsw, no iterative scan', PLAIN, small);
      await measure(`user owning ${actualSmall} (RLS)`, 'match_document_chunks', 'function', small);
      await measure(`user owning ${size - actualSmall} (RLS)`, 'exact scan', EXACT, big);
      await measure(`user owning ${size - actualSmall} (RLS)`, 'match_document_chunks', 'function', big);
    } finally {
      await stack.stop();
    }
  }

  console.log('\n| chunks | who | method | p50 ms | p95 ms | recall@10 | speed-up vs exact (p50) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) {
    const exact = rows.find((r) => r.size === row.size && r.scope === row.scope && r.method === 'exact scan')!;
    console.log(`| ${row.size} | ${row.scope} | ${row.method} | ${row.p50Ms} | ${row.p95Ms} | ${row.recallAt10} | ${(exact.p50Ms / row.p50Ms).toFixed(1)}× |`);
  }
  const file = new URL(`./results/search-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(file, `${JSON.stringify({ benchmark: 'search', dimensions: DIMENSIONS, clusters: CLUSTERS, queries, share, rows }, null, 2)}\n`);
  console.log(`\nwritten to ${file.pathname}`);
}
