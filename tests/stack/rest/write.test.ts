import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient } from '../../helpers/stack.ts';
import { startRestStack } from './helpers.ts';

let stack: Stack;
let db: SupabaseClient;

beforeAll(async () => {
  stack = await startRestStack();
  db = serviceClient(stack);
});
afterAll(async () => {
  await stack?.stop();
});

describe('insert', () => {
  it('inserts one row and returns nothing by default (201)', async () => {
    const res = await db.from('counters').insert({ name: 'i1', value: 5 });
    expect({ data: res.data, error: res.error, status: res.status }).toEqual({ data: null, error: null, status: 201 });
    const { rows } = await stack.db.query("select value, note from public.counters where name = 'i1'");
    expect(rows).toEqual([{ value: 5, note: 'fresh' }]);
  });

  it('inserts in bulk and returns the representation with select()', async () => {
    const { data, error, status } = await db
      .from('counters')
      .insert([{ name: 'b1', value: 1 }, { name: 'b2', value: 2, note: 'given' }])
      .select('name, value, note');
    expect({ data, error, status }).toEqual({
      data: [
        { name: 'b1', value: 1, note: null },
        { name: 'b2', value: 2, note: 'given' },
      ],
      error: null,
      status: 201,
    });
  });

  it('uses column defaults for missing keys with defaultToNull: false', async () => {
    const { data, error, status } = await db
      .from('counters')
      .insert([{ name: 'd1', value: 1 }, { name: 'd2', note: 'given' }], { defaultToNull: false })
      .select('name, value, note');
    expect({ data, error, status }).toEqual({
      data: [
        { name: 'd1', value: 1, note: 'fresh' },
        { name: 'd2', value: 0, note: 'given' },
      ],
      error: null,
      status: 201,
    });
  });

  it('counts inserted rows and embeds in the representation', async () => {
    const { data, count, status } = await db
      .from('comments')
      .insert({ post_id: 2, content: 'Late' }, { count: 'exact' })
      .select('content, posts(title)')
      .single();
    expect({ data, count, status }).toEqual({ data: { content: 'Late', posts: { title: 'On Bernoulli numbers' } }, count: 1, status: 201 });
  });

  it('keeps every digit of numbers in the body (bigint beyond 2^53)', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/authors`, {
      method: 'POST',
      headers: { apikey: stack.keys.secret, 'content-type': 'application/json', prefer: 'return=minimal' },
      body: '{"id": 9007199254740993, "name": "Big"}',
    });
    expect(res.status).toBe(201);
    const { rows } = await stack.db.query("select id::text as id from public.authors where name = 'Big'");
    expect(rows).toEqual([{ id: '9007199254740993' }]);
  });

  it('answers 409 23505 for a duplicate key and writes nothing', async () => {
    const { data, error, status } = await db.from('authors').insert([{ id: 10, name: 'New' }, { id: 1, name: 'Dup' }]);
    expect({ data, error, status }).toEqual({
      data: null,
      error: { code: '23505', details: 'Key (id)=(1) already exists.', hint: null, message: 'duplicate key value violates unique constraint "authors_pkey"' },
      status: 409,
    });
    const { rows } = await stack.db.query('select count(*)::int as n from public.authors where id = 10');
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('answers 409 23503 for a missing foreign key target', async () => {
    const { error, status } = await db.from('comments').insert({ post_id: 999, content: 'orphan' });
    expect({ error, status }).toEqual({
      error: {
        code: '23503',
        details: 'Key (post_id)=(999) is not present in table "posts".',
        hint: null,
        message: 'insert or update on table "comments" violates foreign key constraint "comments_post_id_fkey"',
      },
      status: 409,
    });
  });

  it('answers 400 PGRST204 for a key that is not a column', async () => {
    const { error, status } = await db.from('counters').insert({ name: 'x', nope: 1 });
    expect({ error, status }).toEqual({
      error: { code: 'PGRST204', details: null, hint: null, message: "Could not find the 'nope' column of 'counters' in the schema cache" },
      status: 400,
    });
  });

  it('answers 400 PGRST102 for a body that is not JSON', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/counters`, {
      method: 'POST',
      headers: { apikey: stack.keys.secret, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 400,
      body: { code: 'PGRST102', details: null, hint: null, message: 'Empty or invalid json' },
    });
  });

  it('returns Location with return=headers-only', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/counters`, {
      method: 'POST',
      headers: { apikey: stack.keys.secret, 'content-type': 'application/json', prefer: 'return=headers-only' },
      body: JSON.stringify({ name: 'loc', value: 1 }),
    });
    expect({ status: res.status, location: res.headers.get('location'), range: res.headers.get('content-range'), body: await res.text() }).toEqual({
      status: 201,
      location: '/counters?name=eq.loc',
      range: '*/*',
      body: '',
    });
  });

  it('rolls the insert back when single() gets more than one row', async () => {
    const { error, status } = await db.from('counters').insert([{ name: 's1', value: 1 }, { name: 's2', value: 2 }]).select().single();
    expect({ error, status }).toEqual({
      error: { code: 'PGRST116', details: 'The result contains 2 rows', hint: null, message: 'Cannot coerce the result to a single JSON object' },
      status: 406,
    });
    const { rows } = await stack.db.query("select count(*)::int as n from public.counters where name in ('s1', 's2')");
    expect(rows).toEqual([{ n: 0 }]);
  });
});

describe('upsert', () => {
  it('merges duplicates on the primary key (200 when nothing new was inserted)', async () => {
    await stack.db.query("insert into public.counters (name, value) values ('u1', 1)");
    const { data, status } = await db.from('counters').upsert({ name: 'u1', value: 7 }).select('name, value');
    expect({ data, status }).toEqual({ data: [{ name: 'u1', value: 7 }], status: 200 });
    const created = await db.from('counters').upsert([{ name: 'u1', value: 8 }, { name: 'u2', value: 9 }]).select('name, value');
    expect({ data: created.data, status: created.status }).toEqual({ data: [{ name: 'u1', value: 8 }, { name: 'u2', value: 9 }], status: 201 });
  });

  it('ignores duplicates with ignoreDuplicates and on_conflict', async () => {
    const { data, status } = await db
      .from('authors')
      .upsert([{ id: 20, name: 'Ada' }, { id: 21, name: 'Margaret' }], { onConflict: 'name', ignoreDuplicates: true })
      .select('id, name');
    expect({ data, status }).toEqual({ data: [{ id: 21, name: 'Margaret' }], status: 201 });
  });

  it('merges on the on_conflict column', async () => {
    const { data } = await db.from('authors').upsert({ id: 1, name: 'Ada', bio: 'Countess' }, { onConflict: 'name' }).select('id, name, bio');
    expect(data).toEqual([{ id: 1, name: 'Ada', bio: 'Countess' }]);
  });
});

describe('update and delete', () => {
  it('updates filtered rows: 204 without representation, Content-Range with the count', async () => {
    await stack.db.query("insert into public.counters (name, value) values ('p1', 1), ('p2', 2), ('p3', 3)");
    const res = await db.from('counters').update({ note: 'bulk' }, { count: 'exact' }).in('name', ['p1', 'p2']);
    expect({ data: res.data, error: res.error, status: res.status, count: res.count }).toEqual({ data: null, error: null, status: 204, count: 2 });
    const { rows } = await stack.db.query("select name, note from public.counters where name like 'p%' order by name");
    expect(rows).toEqual([
      { name: 'p1', note: 'bulk' },
      { name: 'p2', note: 'bulk' },
      { name: 'p3', note: 'fresh' },
    ]);
  });

  it('returns updated rows with select() and affects nothing when no row matches', async () => {
    const { data, status } = await db.from('counters').update({ value: 30 }).eq('name', 'p3').select('name, value');
    expect({ data, status }).toEqual({ data: [{ name: 'p3', value: 30 }], status: 200 });
    const none = await db.from('counters').update({ value: 1 }).eq('name', 'nobody').select();
    expect({ data: none.data, status: none.status }).toEqual({ data: [], status: 200 });
  });

  it('deletes filtered rows and returns them with select()', async () => {
    const { data, status } = await db.from('counters').delete().or('name.eq.p1,name.eq.p2').select('name').order('name');
    expect({ data, status }).toEqual({ data: [{ name: 'p1' }, { name: 'p2' }], status: 200 });
    const plain = await db.from('counters').delete().eq('name', 'p3');
    expect({ data: plain.data, status: plain.status }).toEqual({ data: null, status: 204 });
    const { rows } = await stack.db.query("select count(*)::int as n from public.counters where name like 'p%'");
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('answers 400 23502 for a not-null violation', async () => {
    const { error, status } = await db.from('authors').update({ name: null }).eq('id', 2);
    expect({ error, status }).toEqual({
      error: {
        code: '23502',
        details: 'Failing row contains (2, null, null, {navy,compilers}, {"lang": "en", "stats": {"posts": 1}}, 1906-12-09).',
        hint: null,
        message: 'null value in column "name" of relation "authors" violates not-null constraint',
      },
      status: 400,
    });
  });

  it('rolls back with Prefer: tx=rollback and enforces max-affected', async () => {
    await stack.db.query("insert into public.counters (name, value) values ('r1', 1), ('r2', 2)");
    const { data } = await db.from('counters').update({ value: 99 }).eq('name', 'r1').select('value').rollback();
    expect(data).toEqual([{ value: 99 }]);
    // maxAffected() is typed for PostgREST 13+ schemas only; the untyped client needs a cast.
    const strict = await (db.from('counters').delete().like('name', 'r*') as any).maxAffected(1);
    expect({ error: strict.error, status: strict.status }).toEqual({
      error: { code: 'PGRST124', details: 'The query affects 2 rows', hint: null, message: 'Query result exceeds max-affected preference constraint' },
      status: 400,
    });
    const { rows } = await stack.db.query("select name, value from public.counters where name like 'r%' order by name");
    expect(rows).toEqual([
      { name: 'r1', value: 1 },
      { name: 'r2', value: 2 },
    ]);
  });
});

describe('rpc', () => {
  it('calls a scalar function by POST', async () => {
    const { data, error, status } = await db.rpc('add_them', { a: 2, b: 40 });
    expect({ data, error, status }).toEqual({ data: 42, error: null, status: 200 });
  });

  it('calls a function by GET with query-string arguments, including arrays', async () => {
    const { data } = await db.rpc('numbers', { n: 4 }, { get: true });
    expect(data).toEqual([1, 2, 3, 4]);
    const sum = await db.rpc('sum_array', { vals: [1, 2, 3] }, { get: true });
    expect(sum.data).toBe(6);
    const posted = await db.rpc('sum_array', { vals: [4, 5] });
    expect(posted.data).toBe(9);
  });

  it('filters, orders, limits and embeds the rows of a set-returning function', async () => {
    const { data, count } = await db
      .rpc('posts_rated', { min_rating: 3 }, { count: 'exact' })
      .select('id, title, comments(content)')
      .neq('id', 2)
      .order('id', { ascending: false })
      .limit(1);
    expect({ data, count }).toEqual({ data: [{ id: 3, title: 'Compilers', comments: [{ content: 'Useful' }] }], count: 2 });
  });

  it('returns an object for a function returning one row, and rows for returns table', async () => {
    const one = await db.rpc('first_author').select('name');
    expect(one.data).toEqual({ name: 'Ada' });
    const table = await db.rpc('post_stats');
    expect(table.data).toEqual([{ total: 4, published: 2 }]);
  });

  it('answers 204 for a void function and runs it', async () => {
    const { data, error, status } = await db.rpc('bump', { counter: 'a' });
    expect({ data, error, status }).toEqual({ data: null, error: null, status: 204 });
    const { rows } = await stack.db.query("select value from public.counters where name = 'a'");
    expect(rows).toEqual([{ value: 2 }]);
  });

  it('passes the whole body to a function with one unnamed json parameter', async () => {
    const { data } = await db.rpc('echo_json', { any: ['thing', 1] });
    expect(data).toEqual({ any: ['thing', 1] });
  });

  it('answers 404 PGRST202 for an unknown function or arguments', async () => {
    const { error, status } = await db.rpc('add_them', { a: 1, c: 2 });
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST202',
        details: 'Searched for the function public.add_them with parameters a, c or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
        hint: null,
        message: 'Could not find the function public.add_them(a, c) in the schema cache',
      },
      status: 404,
    });
  });

  it('answers 405 when a volatile function is called by GET (read-only transaction)', async () => {
    const { error, status } = await db.rpc('bump', { counter: 'a' }, { get: true });
    expect({ error, status }).toEqual({
      error: { code: '25006', details: null, hint: null, message: 'cannot execute UPDATE in a read-only transaction' },
      status: 405,
    });
  });

  it('maps raise exception to 400 with the hint', async () => {
    const { error, status } = await db.rpc('refuse');
    expect({ error, status }).toEqual({
      error: { code: 'P0001', details: null, hint: 'try tomorrow', message: 'refused: not today' },
      status: 400,
    });
  });
});

describe('schema cache', () => {
  it('sees tables, columns and functions created after start without a restart', async () => {
    await stack.db.query('create table public.later (id int primary key, label text)');
    await stack.db.query("insert into public.later values (1, 'one')");
    const first = await db.from('later').select('id, label');
    expect(first.data).toEqual([{ id: 1, label: 'one' }]);
    await stack.db.query('alter table public.later add column extra int default 7');
    await stack.db.query('create function public.later_count() returns bigint language sql stable as $$ select count(*) from public.later $$');
    const second = await db.from('later').select('extra');
    expect(second.data).toEqual([{ extra: 7 }]);
    const rpc = await db.rpc('later_count');
    expect(rpc.data).toBe(1);
  });

  it('forgets a dropped table at once (a NOTIFY pgrst in between is harmless)', async () => {
    await stack.db.query("notify pgrst, 'reload schema'");
    await stack.db.query('drop table public.later');
    const { error, status } = await db.from('later').select();
    expect({ error, status }).toEqual({
      error: { code: 'PGRST205', details: null, hint: null, message: "Could not find the table 'public.later' in the schema cache" },
      status: 404,
    });
  });

  it('keeps working when the change counter is dropped (e.g. by a database reset)', async () => {
    await stack.db.query('drop table extensions.lite_rest_schema_version');
    const { data } = await db.from('labels').select('label').eq('id', 1);
    expect(data).toEqual([{ label: 'history' }]);
    await stack.db.query('create table public.after_reset (id int)');
    const { data: fresh } = await db.from('after_reset').select();
    expect(fresh).toEqual([]);
  });
});

