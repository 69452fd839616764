import type { Db } from './pool.ts';

/** One pgTAP assertion as reported in TAP. */
export interface TapAssertion {
  n: number;
  ok: boolean;
  description: string;
  /** `#` diagnostic lines that followed it (expected/got, error text). */
  diagnostics: string[];
}

/** The outcome of one pgTAP file. */
export interface TapResult {
  planned: number | undefined;
  assertions: TapAssertion[];
  /** Plan mismatches and failure counts reported by `finish()`, and bail-outs (SQL errors). */
  notes: string[];
  /** True when every assertion passed and the count matched the plan. */
  passed: boolean;
}

/** Parses TAP text (the rows pgTAP's functions return) into assertions. */
export function parseTap(lines: string[]): Omit<TapResult, 'passed'> {
  const assertions: TapAssertion[] = [];
  const notes: string[] = [];
  let planned: number | undefined;
  for (const line of lines) {
    const plan = /^1\.\.(\d+)/.exec(line);
    const test = /^(not )?ok (\d+)(?: - (.*))?$/.exec(line);
    if (plan) planned = Number(plan[1]);
    else if (test) assertions.push({ n: Number(test[2]), ok: !test[1], description: test[3] ?? '', diagnostics: [] });
    else if (/^# Looks like|^Bail out!/.test(line)) notes.push(line);
    else if (line.startsWith('#') && assertions.length > 0) {
      assertions[assertions.length - 1].diagnostics.push(line.replace(/^#\s?/, ''));
    }
    // Anything else is a row of the file's own queries (e.g. `select set_config(…)`), not TAP: ignored, as pg_prove does.
  }
  return { planned, assertions, notes };
}

/**
 * Runs one pgTAP file (`begin; select plan(n); … select * from finish(); rollback;`) on a single connection,
 * as `supabase test db` would with pg_prove, and returns its parsed TAP. An SQL error inside the file is
 * reported as a failed result, and the connection is rolled back so nothing the file did survives.
 */
export async function runPgTap(db: Db, sql: string): Promise<TapResult> {
  const client = await db.pool.connect();
  const lines: string[] = [];
  let broken = false;
  try {
    await client.query('create extension if not exists pgtap with schema extensions');
    const raw = (await client.query({ text: sql, rowMode: 'array' } as never)) as unknown;
    const results = (Array.isArray(raw) ? raw : [raw]) as Array<{ rows?: unknown[][] }>;
    for (const result of results) {
      for (const row of result.rows ?? []) {
        if (row.length === 1 && typeof row[0] === 'string') lines.push(...row[0].split('\n'));
      }
    }
  } catch (error) {
    lines.push(`Bail out! ${(error as Error).message}`);
  } finally {
    try {
      await client.query('rollback');
    } catch {
      broken = true;
    }
    client.release(broken);
  }
  const parsed = parseTap(lines);
  const passed =
    parsed.notes.every((n) => !n.startsWith('Bail out!')) &&
    parsed.assertions.length > 0 &&
    parsed.assertions.every((a) => a.ok) &&
    (parsed.planned === undefined || parsed.planned === parsed.assertions.length);
  return { ...parsed, passed };
}
