import type { SupabaseClient } from '@supabase/supabase-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { serviceClient } from '../../helpers/stack.ts';
import { type RestResult, strict, useRestStack } from './helpers.ts';

const t = useRestStack((stack) =>
  stack.db.query(`
    create table public.prefs_items (id int primary key, label text not null default 'new');
    insert into public.prefs_items select g, 'item ' || g from generate_series(1, 10) g;
    create table public.prefs_log (line text);
    grant select, insert, update, delete on public.prefs_items, public.prefs_log to service_role;
    create function public.prefs_relabel(upto int) returns setof public.prefs_items
      language sql volatile set search_path = '' as $$
        update public.prefs_items set label = 'relabelled' where id <= upto returning * $$;
    create function public.prefs_noop() returns void language sql volatile set search_path = '' as $$ select $$;
    grant execute on function public.prefs_relabel(int), public.prefs_noop() to service_role;`),
);

/** The `Preference-Applied` header of every response, in order, read through the client's `fetch`. */
const applied: Array<string | null> = [];
let db: SupabaseClient;

beforeAll(() => {
  db = serviceClient(t.stack, async (input, init) => {
    const response = await fetch(input, init);
    applied.push(response.headers.get('preference-applied'));
    return response;
  });
});

/** Runs a request that must succeed and returns the `Preference-Applied` it was answered with. */
async function appliedFor(request: PromiseLike<Pick<RestResult, 'error'>>): Promise<string | null> {
  const { error } = await request;
  expect(error).toBeNull();
  return applied.at(-1) ?? null;
}

describe('Preference-Applied', () => {
  it('echoes handling=strict and max-affected on PATCH and DELETE', async () => {
    expect(await appliedFor(strict(db.from('prefs_items').update({ label: 'x' }).eq('id', 1), 5))).toBe('handling=strict, max-affected=5');
    expect(await appliedFor(strict(db.from('prefs_items').delete().eq('id', 10), 1))).toBe('handling=strict, max-affected=1');
  });

  it('echoes max-affected on RPC, whether the function returns rows or nothing', async () => {
    expect(await appliedFor(strict(db.rpc('prefs_relabel', { upto: 2 }).select('id'), 3))).toBe('handling=strict, max-affected=3');
    const raw = await fetch(`${t.stack.apiUrl}/rest/v1/rpc/prefs_noop`, {
      method: 'POST',
      headers: { apikey: t.stack.keys.secret, authorization: `Bearer ${t.stack.keys.secret}`, prefer: 'handling=lenient, max-affected=1' },
    });
    expect({ status: raw.status, applied: raw.headers.get('preference-applied') }).toEqual({ status: 204, applied: 'handling=lenient' });
  });

  it('leaves max-affected out of reads and inserts, which it does not limit', async () => {
    expect(await appliedFor(strict(db.from('prefs_items').select('id'), 1))).toBe('handling=strict');
    expect(await appliedFor(strict(db.from('prefs_log').insert([{ line: 'a' }, { line: 'b' }]), 1))).toBe('handling=strict');
  });

  it('echoes handling=lenient without max-affected, which is then not enforced', async () => {
    const request = db.from('prefs_items').update({ label: 'lenient' }).lte('id', 3).setHeader('Prefer', 'handling=lenient, max-affected=1');
    expect(await appliedFor(request)).toBe('handling=lenient');
    const { rows } = await t.stack.db.query<{ n: number }>(`select count(*)::int as n from public.prefs_items where label = 'lenient'`);
    expect(rows[0].n).toBe(3);
  });

  it("lists the applied preferences in PostgREST's order, whatever order they were sent in", async () => {
    const request = db
      .from('prefs_items')
      .upsert({ id: 20 }, { count: 'exact', defaultToNull: false })
      .select('id, label')
      .setHeader('Prefer', 'handling=lenient, timezone=UTC, tx=rollback, return=representation, resolution=merge-duplicates, missing=default, count=exact');
    expect(await appliedFor(request)).toBe('resolution=merge-duplicates, missing=default, return=representation, count=exact, tx=rollback, handling=lenient, timezone=UTC');
  });

  it('applies the first of conflicting values, and reports resolution only where a key decides conflicts', async () => {
    const request = db.from('prefs_log').insert({ line: 'c' }).setHeader('Prefer', 'count=exact, count=planned, resolution=ignore-duplicates');
    expect(await appliedFor(request)).toBe('count=exact');
    expect(await appliedFor(db.from('prefs_items').upsert({ id: 21 }, { ignoreDuplicates: true }))).toBe('resolution=ignore-duplicates');
  });

  it('reports count but neither return nor missing on RPC and reads', async () => {
    const rpc = db.rpc('prefs_relabel', { upto: 1 }, { count: 'exact' }).select('id').setHeader('Prefer', 'count=exact, return=representation, missing=default');
    expect(await appliedFor(rpc)).toBe('count=exact');
    const read = db.from('prefs_items').select('id', { count: 'exact' }).setHeader('Prefer', 'count=exact, return=minimal');
    expect(await appliedFor(read)).toBe('count=exact');
  });
});
