import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../stack/db/embedded.ts';
import { Pipeline } from '../../stack/db/pipeline.ts';
import { Db } from '../../stack/db/pool.ts';

let embedded: EmbeddedPostgres;
let db: Db;
let tcp: pg.Client;

beforeAll(async () => {
  embedded = await startEmbeddedPostgres({ host: '127.0.0.1', port: 0 });
  db = new Db(embedded.url, { stream: embedded.connect });
  tcp = new pg.Client({ connectionString: embedded.url });
  await tcp.connect();
  await tcp.query('create table public.items (id int primary key, label text not null)');
}, 60_000);

afterAll(async () => {
  await tcp?.end();
  await db?.close();
  await embedded?.stop();
});

/** Resolves after the given promise settles, or with 'pending' if it has not settled within `ms`. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe('in-process connections to the embedded PGlite', () => {
  it('are offered by this pglite-socket version (otherwise the stack silently falls back to TCP)', () => {
    expect(typeof embedded.connect).toBe('function');
  });

  it('skip the queue when nothing waits (no lock taken), while TCP clients go through it', async () => {
    const locks = vi.spyOn(embedded.pglite, 'runExclusive');
    try {
      await db.pool.query('select 1');
      expect(locks).not.toHaveBeenCalled();
      await tcp.query('select 1');
      expect(locks).toHaveBeenCalled();
    } finally {
      locks.mockRestore();
    }
  });

  it('let the event loop turn between queries (timers and sockets are not held off by a chain of queries)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      const started = performance.now();
      while (performance.now() - started < 50) await db.pool.query('select 1');
      expect(ticks).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
    }
  });

  it('run simple and parameterized queries, and large results arrive whole', async () => {
    expect((await db.pool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    expect((await db.pool.query('select $1::text || $2::text as joined', ['a', 'b'])).rows).toEqual([{ joined: 'ab' }]);
    const { rows } = await db.pool.query("select g as n, repeat('x', 200) as pad from generate_series(1, 5000) g");
    expect(rows).toHaveLength(5000);
    expect(rows[4999]).toEqual({ n: 5000, pad: 'x'.repeat(200) });
  });

  it("keep a transaction exclusive: a TCP client's statement waits until the in-process transaction commits", async () => {
    const client = await db.pool.connect();
    try {
      await client.query('begin');
      await client.query("insert into public.items values (1, 'in process')");
      const seen = tcp.query('select count(*)::int as n from public.items');
      expect(await settledWithin(seen, 200)).toBe('pending');
      await client.query('commit');
      expect((await seen).rows).toEqual([{ n: 1 }]);
    } finally {
      client.release();
    }
  });

  it("and the other way round: an in-process statement waits for a TCP client's transaction", async () => {
    await tcp.query('begin');
    await tcp.query("insert into public.items values (2, 'over tcp')");
    const seen = db.pool.query('select count(*)::int as n from public.items');
    expect(await settledWithin(seen, 200)).toBe('pending');
    await tcp.query('rollback');
    expect((await seen).rows).toEqual([{ n: 1 }]);
  });

  it('hand the turn back to a waiting TCP client after another connection has gone', async () => {
    const waiting = new pg.Client({ connectionString: embedded.url });
    await waiting.connect();
    try {
      // A connection that leaves makes the socket server drop its queued messages (it rebuilds its queue then).
      const gone = new pg.Client({ connectionString: embedded.url });
      await gone.connect();
      await gone.end();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const client = await db.pool.connect();
      try {
        await client.query('begin');
        const seen = waiting.query('select 1 as one');
        expect(await settledWithin(seen, 100)).toBe('pending');
        await client.query('commit');
        expect(await settledWithin(seen, 5_000)).toMatchObject({ rows: [{ one: 1 }] });
      } finally {
        client.release();
      }
    } finally {
      await waiting.end();
    }
  });

  it('roll back what a connection leaves open when it is closed, and free the queue', async () => {
    const client = await db.pool.connect();
    await client.query('begin');
    await client.query("insert into public.items values (3, 'abandoned')");
    client.release(true); // destroys the connection
    const { rows } = await settledWithin(tcp.query('select id from public.items order by id'), 5_000).then((r) => {
      if (r === 'pending') throw new Error('the queue stayed held by a closed connection');
      return r;
    });
    expect(rows).toEqual([{ id: 1 }]);
  });

  it('recover after an error on the same connection', async () => {
    const client = await db.pool.connect();
    try {
      await expect(client.query('select * from public.nowhere')).rejects.toMatchObject({ code: '42P01' });
      expect((await client.query('select 2 as two')).rows).toEqual([{ two: 2 }]);
    } finally {
      client.release();
    }
  });
});

describe('pipelines (several statements, one Sync)', () => {
  it('return one result per statement, with typed columns', async () => {
    const client = await db.pool.connect();
    try {
      const results = await Pipeline.run(client, [
        { name: '', text: "select 1::int as a, 'x'::text as b, '{\"k\":1}'::jsonb as c", values: [], parse: true },
        { name: '', text: 'select $1::int + 1 as n', values: ['41'], parse: true },
        { name: '', text: 'select 1 where false', values: [], parse: true },
      ]);
      expect(results.map((r) => r.rows)).toEqual([[{ a: 1, b: 'x', c: { k: 1 } }], [{ n: 42 }], []]);
      expect(results.map((r) => r.command)).toEqual(['SELECT', 'SELECT', 'SELECT']);
    } finally {
      client.release();
    }
  });

  it('run as one transaction: an error undoes the statements before it and later ones do not run', async () => {
    const client = await db.pool.connect();
    try {
      await expect(
        Pipeline.run(client, [
          { name: '', text: "insert into public.items values (10, 'first')", values: [], parse: true },
          { name: '', text: "insert into public.items values (1, 'duplicate')", values: [], parse: true },
          { name: '', text: "insert into public.items values (11, 'never')", values: [], parse: true },
        ]),
      ).rejects.toMatchObject({ code: '23505' });
      expect((await client.query('select id from public.items order by id')).rows).toEqual([{ id: 1 }]);
    } finally {
      client.release();
    }
  });

  it('describe a named statement once and reuse its columns', async () => {
    const client = await db.pool.connect();
    try {
      const text = 'select id, label from public.items where id = $1';
      const [first] = await Pipeline.run(client, [{ name: 'items_by_id', text, values: ['1'], parse: true }]);
      expect(first.rows).toEqual([{ id: 1, label: 'in process' }]);
      const [again] = await Pipeline.run(client, [{ name: 'items_by_id', text, values: ['1'], parse: false, columns: first.columns }]);
      expect(again.rows).toEqual([{ id: 1, label: 'in process' }]);
      // Closed first, then unknown.
      await expect(Pipeline.run(client, [{ name: 'items_by_id', text, values: ['1'], parse: false, columns: first.columns }], ['items_by_id'])).rejects.toMatchObject({
        code: '26000',
      });
    } finally {
      client.release();
    }
  });
});

describe('Db.batchTx', () => {
  it('runs a read-only request as one pipeline without begin/commit, still read-only', async () => {
    const seen = await db.batchTx(async (tx) => (await tx.query('select pg_catalog.current_setting($1) as v', true, ['transaction_read_only'])).rows[0].v, {
      readOnly: true,
      settings: [['request.method', 'GET']],
    });
    expect(seen).toBe('on');
    await expect(
      db.batchTx((tx) => tx.query("insert into public.items values ($1, 'no')", true, [20]), { readOnly: true }),
    ).rejects.toMatchObject({ code: '25006' });
    // Nothing is left open on the connections afterwards.
    expect((await db.pool.query('select count(*)::int as n from public.items where id = 20')).rows).toEqual([{ n: 0 }]);
  });

  it('keeps a write transaction open across queries and rolls it back when the callback throws', async () => {
    await expect(
      db.batchTx(async (tx) => {
        await tx.query("insert into public.items values ($1, 'kept?')", false, [30]);
        const { rows } = await tx.query('select count(*)::int as n from public.items where id = $1', false, [30]);
        expect(rows).toEqual([{ n: 1 }]);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect((await db.pool.query('select count(*)::int as n from public.items where id = 30')).rows).toEqual([{ n: 0 }]);
  });

  it('prepares a statement again after a failed first use (the Parse survived, its columns were never seen)', async () => {
    const text = 'select id, label from public.items where id = $1::int';
    await expect(db.batchTx((tx) => tx.query(text, true, ['not a number']), { readOnly: true })).rejects.toMatchObject({ code: '22P02' });
    const rows = await db.batchTx(async (tx) => (await tx.query(text, true, ['1'])).rows, { readOnly: true });
    expect(rows).toEqual([{ id: 1, label: 'in process' }]);
  });
});

describe('shutdown', () => {
  it('closes open in-process connections before the database stops, without errors', async () => {
    const other = await startEmbeddedPostgres({ host: '127.0.0.1', port: 0 });
    const otherDb = new Db(other.url, { stream: other.connect });
    const client = await otherDb.pool.connect();
    await client.query('begin');
    await client.query('create table public.t (id int)');
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    const unhandled = (error: unknown) => errors.push(error);
    process.on('unhandledRejection', unhandled);
    try {
      await other.stop();
      // What is left of the pool goes after the database, as when a process stops in a hurry.
      client.release(true);
      await otherDb.close().catch(() => {});
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(errors.filter((e) => !String(e).includes('Connection terminated'))).toEqual([]);
      // And a connection asked for afterwards is refused rather than left hanging.
      const late = new pg.Client({ connectionString: other.url, stream: other.connect });
      await expect(late.connect()).rejects.toThrow('the embedded database is shutting down');
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });
});
