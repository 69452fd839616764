import { beforeAll, describe, expect, it } from 'vitest';
import { useRestStack } from './helpers.ts';

const t = useRestStack();

const NOT_ALLOWED = { code: 'PGRST123', details: null, hint: null, message: 'Use of aggregate functions is not allowed' };

describe('aggregates while disabled (the default)', () => {
  it('answers 400 PGRST123 for count() and for col.sum()', async () => {
    for (const select of ['count()', 'id.sum()', 'name,id.max()']) {
      const { error, status } = await t.db.from('authors').select(select);
      expect({ error, status }).toEqual({ error: NOT_ALLOWED, status: 400 });
    }
  });
});

describe('aggregates enabled on the authenticator role', () => {
  beforeAll(async () => {
    await t.stack.db.query("alter role authenticator set pgrst.db_aggregates_enabled = 'true'");
    await t.stack.db.query(`
      create table public.orders (
        id int primary key,
        author_id int not null references public.authors (id),
        day date not null,
        amount numeric not null,
        details jsonb not null default '{}'
      );
      grant select on public.orders to service_role;
      insert into public.orders values
        (1, 1, '2026-01-01', 10.5, '{"tax": 1}'),
        (2, 1, '2026-01-01', 4.5, '{"tax": 2}'),
        (3, 2, '2026-01-02', 7, '{"tax": 3}'),
        (4, 1, '2026-01-02', 3, '{}');`);
  });

  it('aggregates the whole table into one row named after the functions', async () => {
    const { data, error } = await t.db.from('orders').select('count(),amount.sum(),amount.max(),amount.min(),id.avg()');
    expect({ data, error }).toEqual({ data: [{ count: 4, sum: 25, max: 10.5, min: 3, avg: 2.5 }], error: null });
  });

  it('groups by the other selected columns, with aliases and casts on input and output', async () => {
    const { data, error } = await t.db
      .from('orders')
      .select('day,total:amount.sum(),mean:amount.avg()::int,tax:details->>tax::int.sum()')
      .order('day');
    expect({ data, error }).toEqual({
      data: [
        { day: '2026-01-01', total: 15, mean: 8, tax: 3 },
        { day: '2026-01-02', total: 10, mean: 5, tax: 3 },
      ],
      error: null,
    });
  });

  it('counts non-null values with col.count() and applies filters before aggregating', async () => {
    const { data, error } = await t.db.from('orders').select('details->>tax.count()').gte('amount', 4);
    expect({ data, error }).toEqual({ data: [{ count: 3 }], error: null });
  });

  it('aggregates within an embedded resource, per parent row (no rows: one row of empty aggregates, as SQL gives)', async () => {
    const { data, error } = await t.db.from('authors').select('name,orders(amount.sum(),count())').in('id', [1, 2, 3]).order('id');
    expect({ data, error }).toEqual({
      data: [
        { name: 'Ada', orders: [{ sum: 18, count: 3 }] },
        { name: 'Grace', orders: [{ sum: 7, count: 1 }] },
        { name: 'Linus, Jr.', orders: [{ sum: null, count: 0 }] },
      ],
      error: null,
    });
  });

  it('groups by an embedded to-one resource', async () => {
    const grouped = await t.db.from('orders').select('amount.sum(),authors(name)');
    expect(grouped.error).toBeNull();
    expect(new Set((grouped.data as unknown as Array<{ sum: number; authors: { name: string } }>).map((r) => `${r.authors.name}=${r.sum}`))).toEqual(
      new Set(['Ada=18', 'Grace=7']),
    );
  });

  it('hoists the aggregates of a to-one spread to the top level, grouped by its other columns', async () => {
    const { data, error } = await t.db.from('orders').select('day,...authors(first:name.min(),last:name.max(),writers:count())').order('day');
    expect({ data, error }).toEqual({
      data: [
        { day: '2026-01-01', first: 'Ada', last: 'Ada', writers: 2 },
        { day: '2026-01-02', first: 'Ada', last: 'Grace', writers: 2 },
      ],
      error: null,
    });
  });

  it('orders grouped rows by a column of a to-one spread', async () => {
    const { data, error } = await t.db.from('orders').select('total:amount.sum(),...authors(name,latest:id.max())').order('authors(name)', { ascending: false });
    expect({ data, error }).toEqual({
      data: [
        { total: 7, name: 'Grace', latest: 2 },
        { total: 18, name: 'Ada', latest: 1 },
      ],
      error: null,
    });
  });

  it('aggregates a to-one spread over every top-level row when nothing else is selected', async () => {
    const { data, error } = await t.db.from('orders').select('...authors(id.sum(),born.max())');
    expect({ data, error }).toEqual({ data: [{ sum: 5, max: '1906-12-09' }], error: null });
  });

  it('hoists through nested to-one spreads, counting only the rows that have a related row', async () => {
    await t.stack.db.query(`
      create table public.order_notes (id int primary key, order_id int references public.orders (id));
      grant select on public.order_notes to service_role;
      insert into public.order_notes values (1, 1), (2, 2), (3, 3), (4, 3), (5, null);`);
    const { data, error } = await t.db.from('order_notes').select('...orders(day,...authors(name.max(),count()))');
    const rows = (data ?? []) as unknown as Array<{ day: string | null }>;
    expect({ data: [...rows].sort((a, b) => String(a.day).localeCompare(String(b.day))), error }).toEqual({
      data: [
        { day: '2026-01-01', max: 'Ada', count: 2 },
        { day: '2026-01-02', max: 'Grace', count: 2 },
        { day: null, max: null, count: 0 },
      ],
      error: null,
    });
  });

  it('counts the groups for count=exact', async () => {
    const { data, count, error } = await t.db.from('orders').select('day,count()', { count: 'exact' }).order('day').limit(1);
    expect({ data, count, error }).toEqual({ data: [{ day: '2026-01-01', count: 2 }], count: 2, error: null });
  });
});

describe("switching aggregates with NOTIFY pgrst, 'reload config' (no schema change)", () => {
  it('applies alter role authenticator set/reset from the next request', async () => {
    await t.stack.db.query(`alter role authenticator reset pgrst.db_aggregates_enabled; notify pgrst, 'reload config'`);
    const off = await t.db.from('authors').select('count()');
    expect({ error: off.error, status: off.status }).toEqual({ error: NOT_ALLOWED, status: 400 });

    await t.stack.db.query(`alter role authenticator set pgrst.db_aggregates_enabled = 'true'; notify pgrst, 'reload config'`);
    const { data: authors } = await t.db.from('authors').select('id');
    const on = await t.db.from('authors').select('count()');
    expect({ data: on.data, error: on.error }).toEqual({ data: [{ count: authors?.length }], error: null });

    await t.stack.db.query(`alter role authenticator set pgrst.db_aggregates_enabled = 'false'; notify pgrst, 'reload config'`);
    const offAgain = await t.db.from('authors').select('count()');
    expect({ error: offAgain.error, status: offAgain.status }).toEqual({ error: NOT_ALLOWED, status: 400 });
  });
});
