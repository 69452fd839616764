import { describe, expect, it } from 'vitest';
import { useRestStack } from './helpers.ts';

const t = useRestStack();

function rest(path: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${t.stack.apiUrl}/rest/v1${path}`, { ...init, headers: { apikey: t.stack.keys.publishable, ...init.headers } });
}

describe('bearer token', () => {
  it('answers 401 PGRST301 for an empty bearer token instead of running as anon', async () => {
    const res = await rest('/authors?select=id', { headers: { authorization: 'Bearer ' } });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="Empty JWT is sent in Authorization header"');
    expect(await res.json()).toEqual({ code: 'PGRST301', details: null, hint: null, message: 'Empty JWT is sent in Authorization header' });
  });
});

describe('NUL bytes in values', () => {
  const nulError = { code: '22021', details: null, hint: null, message: 'invalid byte sequence for encoding "UTF8": 0x00' };

  it('answers 400 22021 for a NUL byte in a filter value', async () => {
    const res = await rest('/authors?select=id&name=eq.a%00b');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(nulError);
  });

  it('answers 400 22021 for a NUL byte in an RPC argument by GET', async () => {
    const res = await rest('/rpc/bump?counter=a%00b');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(nulError);
  });

  it('answers 400 22P05 for \\u0000 in a JSON body and writes nothing', async () => {
    const { error, status } = await t.db.from('counters').insert({ name: 'nul\u0000name', value: 1 });
    expect({ error, status }).toEqual({
      error: { code: '22P05', details: '\\u0000 cannot be converted to text.', hint: null, message: 'unsupported Unicode escape sequence' },
      status: 400,
    });
    const { rows } = await t.stack.db.query("select count(*)::int as n from public.counters where name like 'nul%'");
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('answers 400 22P05 for \\u0000 in RPC arguments', async () => {
    const { error, status } = await t.db.rpc('bump', { counter: 'x\u0000' });
    expect({ code: error?.code, status }).toEqual({ code: '22P05', status: 400 });
  });
});

describe('one transaction per request', () => {
  it('rolls back every row of a bulk insert when one row fails', async () => {
    const { error, status } = await t.db.from('counters').insert([
      { name: 'tx-a', value: 1 },
      { name: 'tx-b', value: null },
    ]);
    expect({ code: error?.code, status }).toEqual({ code: '23502', status: 400 });
    const { rows } = await t.stack.db.query("select name from public.counters where name like 'tx-%'");
    expect(rows).toEqual([]);
  });

  it('rolls back an update whose result fails the singular check after it ran', async () => {
    await t.stack.db.query("insert into public.counters (name, value) values ('one-a', 1), ('one-b', 1)");
    const { error, status } = await t.db.from('counters').update({ value: 9 }).like('name', 'one-%').select().single();
    expect({ error, status }).toEqual({
      error: { code: 'PGRST116', details: 'The result contains 2 rows', hint: null, message: 'Cannot coerce the result to a single JSON object' },
      status: 406,
    });
    const { rows } = await t.stack.db.query("select value from public.counters where name like 'one-%' order by name");
    expect(rows).toEqual([{ value: 1 }, { value: 1 }]);
  });

  it('leaves no request setting behind for the next transaction on the same connection', async () => {
    const { data } = await t.db.rpc('whoami');
    expect((data as { role: string }).role).toBe('service_role');
    const { rows } = await t.stack.db.query("select current_user::text as who, current_setting('request.jwt.claims', true) as claims");
    expect(rows).toEqual([{ who: 'postgres', claims: '' }]);
  });
});

describe('schema changes', () => {
  it('shows a column added after start in select=* on the very next request', async () => {
    await t.stack.db.query("create table public.grows (id int primary key); insert into public.grows values (1); grant select on public.grows to service_role");
    expect((await t.db.from('grows').select('*')).data).toEqual([{ id: 1 }]);
    await t.stack.db.query("alter table public.grows add column label text not null default 'new'");
    expect((await t.db.from('grows').select('*')).data).toEqual([{ id: 1, label: 'new' }]);
  });

  it('plans each query shape once per connection and keeps at most 64 prepared statements on one', async () => {
    const prepared = async () =>
      (await t.stack.db.query<{ n: number }>("select count(*)::int as n from pg_catalog.pg_prepared_statements where name like 'lite_stmt_%'")).rows[0].n;
    const before = await prepared();
    // Sequential transactions reuse the most recently released connection.
    const run = (shape: number, value: number) => t.stack.db.batchTx((tx) => tx.query(`select $1::int + ${shape} as v`, true, [value]), { readOnly: true });
    expect((await run(0, 1)).rows).toEqual([{ v: 1 }]);
    expect((await run(0, 2)).rows).toEqual([{ v: 2 }]);
    expect(await prepared()).toBe(before + 1);
    for (let shape = 1; shape <= 80; shape++) await run(shape, shape);
    expect((await run(80, 1)).rows).toEqual([{ v: 81 }]);
    expect(await prepared()).toBeLessThanOrEqual(before + 65);
  });

  it('prepares its statements again after another client deallocates them', async () => {
    expect((await t.db.from('labels').select('label').eq('id', 1)).data).toEqual([{ label: 'history' }]);
    await t.stack.db.query('deallocate all');
    const { data, error } = await t.db.from('labels').select('label').eq('id', 1);
    expect({ data, error }).toEqual({ data: [{ label: 'history' }], error: null });
  });

  it('keeps noticing changes after `reset all` clears the session mark', async () => {
    await t.stack.db.query('reset all');
    await t.stack.db.query('create table public.after_reset_all (id int); grant select on public.after_reset_all to service_role');
    const { data, error } = await t.db.from('after_reset_all').select();
    expect({ data, error }).toEqual({ data: [], error: null });
  });
});
