import { describe, expect, it } from 'vitest';
import { strict, useRestStack } from './helpers.ts';

const t = useRestStack((stack) =>
  stack.db.query(`
    create table public.items (id int primary key, done boolean not null default false);
    insert into public.items select g, false from generate_series(1, 15) g;
    grant select, update, delete on public.items to service_role;
    create function public.finish_items(upto int) returns setof public.items
      language sql volatile set search_path = '' as $$
        update public.items set done = true where id <= upto returning * $$;
    create function public.finish_ids(upto int) returns setof int
      language sql volatile set search_path = '' as $$
        update public.items set done = true where id <= upto returning id $$;
    create function public.finish_none() returns void
      language sql volatile set search_path = '' as $$ select $$;
    create function public.shout(text) returns text
      language sql immutable set search_path = '' as $$ select pg_catalog.upper($1) $$;
    create function public.pick(a int) returns text language sql immutable set search_path = '' as $$ select 'int' $$;
    create function public.pick(a int, b int) returns text language sql immutable set search_path = '' as $$ select 'int,int' $$;
    create function public.pick(s text) returns text language sql immutable set search_path = '' as $$ select 'text' $$;
    create function public.twin(a int) returns text language sql immutable set search_path = '' as $$ select 'int' $$;
    create function public.twin(a text) returns text language sql immutable set search_path = '' as $$ select 'text' $$;
    grant execute on all functions in schema public to service_role;`),
);

async function doneCount(): Promise<number> {
  const { rows } = await t.stack.db.query<{ n: number }>('select count(*)::int as n from public.items where done');
  return rows[0].n;
}

describe('max-affected on RPC', () => {
  it('refuses with 400 PGRST124 and changes nothing when the function returns more rows than allowed', async () => {
    const { error, status } = await strict(t.db.rpc('finish_items', { upto: 15 }), 10);
    expect({ error, status }).toEqual({
      error: { code: 'PGRST124', details: 'The query affects 15 rows', hint: null, message: 'Query result exceeds max-affected preference constraint' },
      status: 400,
    });
    expect(await doneCount()).toBe(0);
  });

  it('applies the limit to a set of scalars too', async () => {
    const { error, status } = await strict(t.db.rpc('finish_ids', { upto: 12 }), 3);
    const e = error as { code?: string; details?: string } | null;
    expect({ code: e?.code, details: e?.details, status }).toEqual({ code: 'PGRST124', details: 'The query affects 12 rows', status: 400 });
    expect(await doneCount()).toBe(0);
  });

  it('answers 400 PGRST128 for a function that returns no set', async () => {
    const { error, status } = await strict(t.db.rpc('finish_none'), 1);
    expect({ error, status }).toEqual({
      error: { code: 'PGRST128', details: null, hint: null, message: 'Function must return SETOF or TABLE when max-affected preference is used with handling=strict' },
      status: 400,
    });
  });

  it('runs the function when it stays within the limit', async () => {
    const { data, error } = await strict(t.db.rpc('finish_items', { upto: 2 }).select('id'), 5);
    expect({ data, error }).toEqual({ data: [{ id: 1 }, { id: 2 }], error: null });
    expect(await doneCount()).toBe(2);
  });
});

describe('count on RPC', () => {
  it('puts the total of a set of rows in Content-Range', async () => {
    const { data, count, error } = await t.db.rpc('posts_rated', { min_rating: 0 }, { count: 'exact' }).select('id').order('id').limit(1);
    expect({ data, count, error }).toEqual({ data: [{ id: 1 }], count: 3, error: null });
  });

  it('puts the total of a set of scalars in Content-Range', async () => {
    const { data, count, error } = await t.db.rpc('numbers', { n: 5 }, { count: 'exact' }).limit(2);
    expect({ data, count, error }).toEqual({ data: [1, 2], count: 5, error: null });
  });
});

describe('function resolution', () => {
  it("calls a function's single unnamed parameter with rpc('fn', { '': value })", async () => {
    const { data, error } = await t.db.rpc('shout', { '': 'hey' });
    expect({ data, error }).toEqual({ data: 'HEY', error: null });
  });

  it('picks the overload whose parameter names match the arguments', async () => {
    expect((await t.db.rpc('pick', { a: 1, b: 2 })).data).toBe('int,int');
    expect((await t.db.rpc('pick', { s: 'x' })).data).toBe('text');
    expect((await t.db.rpc('pick', { a: 1 })).data).toBe('int');
  });

  it('answers 300 PGRST203 only when overloads share the argument names', async () => {
    const { error, status } = await t.db.rpc('twin', { a: 1 });
    expect({ code: error?.code, status }).toEqual({ code: 'PGRST203', status: 300 });
  });

  it('answers 404 PGRST202 for arguments no overload takes', async () => {
    const { error, status } = await t.db.rpc('pick', { zz: 1 });
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST202',
        details: 'Searched for the function public.pick with parameter zz or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.',
        hint: null,
        message: 'Could not find the function public.pick(zz) in the schema cache',
      },
      status: 404,
    });
  });
});
