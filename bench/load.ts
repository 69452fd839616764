import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { SupabaseClient } from '@supabase/supabase-js';
import { createStack, type Stack } from '../stack/index.ts';
import { serviceClient, testClient, uniqueEmail } from '../tests/helpers/stack.ts';

/** The kinds of request the mix sends. */
type Kind = 'sign-in' | 'upload' | 'documents' | 'rest';

/** One user of the mix: credentials for sign-ins, a client acting with a session for everything else. */
interface LoadUser {
  id: string;
  email: string;
  client: SupabaseClient;
}

interface KindResult {
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  /** Up to three distinct error messages, to tell a refusal from an outage. */
  sampleErrors: string[];
}

interface PhaseResult {
  name: string;
  kinds: Kind[];
  seconds: number;
  requests: number;
  errors: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  byKind: Partial<Record<Kind, KindResult>>;
}

const PASSWORD = 'correct-horse-battery-staple';

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** Throws the `{ error }` a supabase-js call returned, so it counts as an error of its kind. */
function check(result: { error: unknown }): void {
  if (result.error) throw result.error;
}

/** One request of `kind` as `user`; `n` makes upload names unique. */
async function once(stack: Stack, user: LoadUser, kind: Kind, n: string): Promise<void> {
  switch (kind) {
    case 'sign-in': {
      // A fresh client, as a browser signing in: the password grant through supabase-js.
      const { data, error } = await testClient(stack).auth.signInWithPassword({ email: user.email, password: PASSWORD });
      if (error || !data.session) throw error ?? new Error('no session');
      return;
    }
    case 'upload':
      return check(
        await user.client.storage.from('documents').upload(`${user.id}/load-${n}.txt`, new Blob([`load ${n}\n`], { type: 'text/plain' })),
      );
    case 'documents':
      return check(await user.client.functions.invoke('documents', { method: 'GET' }));
    case 'rest':
      return check(
        await user.client.from('documents').select('id, name, status, created_at').order('created_at', { ascending: false }).limit(20),
      );
  }
}

/**
 * Every user loops for `seconds`, sending the kinds in turn (each user starting at a different kind, so the mix is
 * even at every moment), one request at a time. Prints progress every `progressSeconds`.
 */
async function phase(stack: Stack, users: LoadUser[], name: string, kinds: Kind[], seconds: number, progressSeconds: number): Promise<PhaseResult> {
  const latencies = new Map<Kind, number[]>(kinds.map((k) => [k, []]));
  const errors = new Map<Kind, string[]>(kinds.map((k) => [k, []]));
  let done = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const progress = setInterval(() => {
    const elapsed = (performance.now() - start) / 1000;
    console.log(`  [${name}] ${elapsed.toFixed(0)} s: ${done} requests, ${failed} errors, ${(done / elapsed).toFixed(1)} req/s`);
  }, progressSeconds * 1000);
  const worker = async (user: LoadUser, index: number) => {
    for (let i = index; performance.now() < deadline; i++) {
      const kind = kinds[i % kinds.length];
      const t0 = performance.now();
      try {
        await once(stack, user, kind, `${name.replace(/\W+/g, '-')}-${i}`);
      } catch (error) {
        failed += 1;
        errors.get(kind)!.push(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
      latencies.get(kind)!.push(performance.now() - t0);
      done += 1;
    }
  };
  try {
    await Promise.all(users.map((user, index) => worker(user, index)));
  } finally {
    clearInterval(progress);
  }
  const elapsed = (performance.now() - start) / 1000;
  const all = [...latencies.values()].flat().sort((a, b) => a - b);
  const byKind: Partial<Record<Kind, KindResult>> = {};
  for (const kind of kinds) {
    const sorted = latencies.get(kind)!.sort((a, b) => a - b);
    const kindErrors = errors.get(kind)!;
    byKind[kind] = {
      requests: sorted.length,
      errors: kindErrors.length,
      perSecond: round(sorted.length / elapsed),
      p50Ms: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      sampleErrors: [...new Set(kindErrors)].slice(0, 3),
    };
  }
  return {
    name,
    kinds,
    seconds: round(elapsed, 2),
    requests: all.length,
    errors: failed,
    perSecond: round(all.length / elapsed),
    p50Ms: round(percentile(all, 50)),
    p95Ms: round(percentile(all, 95)),
    byKind,
  };
}

/** `count` confirmed users on the Pro plan (room for the uploads), each signed in once for a session. */
async function createUsers(stack: Stack, count: number): Promise<LoadUser[]> {
  const admin = serviceClient(stack);
  const users: LoadUser[] = [];
  for (let i = 0; i < count; i++) {
    const email = uniqueEmail('load');
    const created = await admin.auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    if (created.error) throw created.error;
    const id = created.data.user.id;
    await stack.db.query("insert into public.subscriptions (user_id, plan_id, status) values ($1, 'pro', 'active')", [id]);
    const { data, error } = await testClient(stack).auth.signInWithPassword({ email, password: PASSWORD });
    if (error) throw error;
    users.push({ id, email, client: testClient(stack, { accessToken: data.session.access_token }) });
  }
  return users;
}

function table(result: PhaseResult): string {
  const rows = [`| ${result.name} | req | errors | req/s | p50 ms | p95 ms |`, '|---|---:|---:|---:|---:|---:|'];
  for (const kind of result.kinds) {
    const k = result.byKind[kind]!;
    rows.push(`| ${kind} | ${k.requests} | ${k.errors} | ${k.perSecond} | ${k.p50Ms} | ${k.p95Ms} |`);
  }
  rows.push(`| **all** | ${result.requests} | ${result.errors} | ${result.perSecond} | ${result.p50Ms} | ${result.p95Ms} |`);
  return rows.join('\n');
}

/**
 * Mixed load on the lite stack: `--users` users (default 50), each sending one request at a time for `--seconds`
 * (default 30) — password sign-ins through supabase-js, small uploads with storage-js into their folder of bucket
 * `documents`, the `documents` function's list, and a Data API select on `public.documents` — and then, in the same
 * run on the same stack and users, the same mix without sign-ins. Comparing the two shows what sign-ins (password
 * hashing) cost every other kind of request. The ingest worker is not scheduled (uploads stay queued), so both
 * phases measure the APIs, not embedding work. Prints progress while running and per-kind throughput, p50 and p95.
 *
 * Usage: npm run bench -- load [--users 50] [--seconds 30] [--progress 5]
 */
export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      users: { type: 'string', default: '50' },
      seconds: { type: 'string', default: '30' },
      progress: { type: 'string', default: '5' },
    },
  });
  const options = {
    users: Math.max(1, Number(values.users)),
    seconds: Math.max(1, Number(values.seconds)),
    progress: Math.max(1, Number(values.progress)),
  };
  const stack = await createStack({ ephemeral: true, apiPort: 0, dbPort: 0, seed: false, scheduler: false, log: () => {} });
  try {
    console.log(`Creating ${options.users} users (each signed in once)…`);
    const users = await createUsers(stack, options.users);
    // Warm up: start the documents function's Deno process and touch every path once.
    for (const kind of ['sign-in', 'upload', 'documents', 'rest'] as const) await once(stack, users[0], kind, `warmup-${kind}`);

    const mixes: Array<[string, Kind[]]> = [
      ['with sign-ins', ['sign-in', 'upload', 'documents', 'rest']],
      ['without sign-ins', ['upload', 'documents', 'rest']],
    ];
    const results: PhaseResult[] = [];
    for (const [name, kinds] of mixes) {
      console.log(`\n${name}: ${options.users} users, ${options.seconds} s, kinds ${kinds.join(', ')}`);
      results.push(await phase(stack, users, name, kinds, options.seconds, options.progress));
    }

    console.log(`\nMixed load, ${options.users} concurrent users, ${options.seconds} s per mix (same stack, same run)\n`);
    for (const result of results) console.log(`${table(result)}\n`);
    const [withSignIns, without] = results;
    for (const kind of without.kinds) {
      const a = withSignIns.byKind[kind]!;
      const b = without.byKind[kind]!;
      console.log(`${kind}: p50 ${a.p50Ms} ms with sign-ins vs ${b.p50Ms} ms without (${round(a.p50Ms / Math.max(b.p50Ms, 0.1), 2)}x)`);
    }
    for (const result of results) {
      for (const [kind, k] of Object.entries(result.byKind)) {
        if (k.sampleErrors.length > 0) console.log(`errors (${result.name}, ${kind}): ${k.sampleErrors.join(' | ')}`);
      }
    }

    const resultsDir = new URL('./results/', import.meta.url);
    await mkdir(resultsDir, { recursive: true });
    const file = new URL(`load-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, resultsDir);
    await writeFile(
      file,
      `${JSON.stringify({ benchmark: 'load', date: new Date().toISOString(), node: process.version, options, phases: results }, null, 2)}\n`,
    );
    console.log(`Wrote ${file.pathname}`);
  } finally {
    await stack.stop();
  }
}
