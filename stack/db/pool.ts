import type { Duplex } from 'node:stream';
import pg from 'pg';
import { type Column, Pipeline, type Step } from './pipeline.ts';

/** A client checked out for one transaction. */
export type TxClient = pg.PoolClient;

/** Options for one transaction. */
export interface TxOptions {
  /** `begin read only`, as PostgREST does for GET/HEAD. */
  readOnly?: boolean;
  /** Transaction-local settings (`set_config(name, value, true)`) applied before `fn` runs, in order. */
  settings?: Array<[string, string]>;
}

/** Reset first in every transaction: another PGlite connection may have left them in the shared session. */
const SESSION_RESET: Array<[string, string]> = [['role', 'none'], ['search_path', 'public, extensions']];

/** Options for {@link Db.batchTx}. */
export interface BatchTxOptions extends TxOptions {
  /**
   * An SQL expression evaluated first in the transaction, before the settings apply (so as the connecting user), in
   * the same round trip as the first query; its value goes to `afterFirst`, which may throw to roll back.
   */
  probe?: string;
  afterFirst?: (probe: unknown) => void;
}

/** The statements of one transaction opened by {@link Db.batchTx}. */
export interface BatchTx {
  /**
   * Runs the statement `text` and returns its result. With `values` (bound to `$1`, `$2`, …) it runs as a named
   * prepared statement; without, it is parsed each time. The first call also carries `begin`, the probe and the
   * settings. With `final` on a read-only transaction it carries the `commit` too: one round trip for the whole
   * request (and when that is also the first call, the pipeline is the transaction: no `begin` or `commit` at all).
   */
  query<R extends pg.QueryResultRow = any>(text: string, final?: boolean, values?: unknown[]): Promise<pg.QueryResult<R>>;
  /** One statement with bind parameters over the extended protocol, for what cannot be prepared (e.g. EXPLAIN). */
  extended<R extends pg.QueryResultRow = any>(text: string, values: unknown[]): Promise<pg.QueryResult<R>>;
}

function settingsSelect(client: pg.ClientBase, settings: Array<[string, string]>): string {
  const calls = settings.map(([name, value]) => `set_config(${client.escapeLiteral(name)}, ${client.escapeLiteral(value)}, true)`);
  return `select ${calls.join(', ')}`;
}

/**
 * The settings as one statement with a parameter per value, for {@link Db.batchTx}: prepared once per connection and
 * set of names, so each request sends only the values (a Bind) and Postgres neither parses nor plans it again. The
 * values of `set_config` are counted rather than returned (they would only travel back to be dropped).
 */
function settingsTemplate(names: string[], probe?: string): string {
  const key = `${probe ?? ''}\u0000${names.join('\u0000')}`;
  let text = settingsTemplates.get(key);
  if (text === undefined) {
    const calls = names.map((name, i) => `pg_catalog.set_config(${pg.escapeLiteral(name)}, $${i + 1}, true)`);
    // Select-list items are evaluated in order, so the probe sees the session as it was before the settings.
    text = `select ${probe ? `${probe} as probe, ` : ''}pg_catalog.num_nulls(${calls.join(', ')}) as settings`;
    if (settingsTemplates.size >= 256) settingsTemplates.clear();
    settingsTemplates.set(key, text);
  }
  return text;
}

/** {@link settingsTemplate}'s texts by probe and names: the same string each time, so its hash is computed once. */
const settingsTemplates = new Map<string, string>();

/** A value as a bind parameter in text form; arrays as array literals. */
function textParam(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return Array.isArray(value) ? arrayLiteral(value) : String(value);
}

function arrayLiteral(values: unknown[]): string {
  const element = (v: unknown): string => {
    if (v === null || v === undefined) return 'NULL';
    if (Array.isArray(v)) return arrayLiteral(v);
    return `"${String(v).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
  };
  return `{${values.map(element).join(',')}}`;
}

let statementCounter = 0;
/** Prepared statements kept per connection; the least recently used beyond this are deallocated. */
const MAX_PREPARED = 64;

/** A statement prepared on a connection, and its columns once described. */
interface Prepared {
  name: string;
  columns?: Column[];
}

/** The prepared statements of one connection, by SQL text (least recently used first). */
class PreparedStatements {
  private readonly byText = new Map<string, Prepared>();
  private evicted: string[] = [];

  get(text: string): Prepared | undefined {
    const prepared = this.byText.get(text);
    if (prepared !== undefined) {
      this.byText.delete(text);
      this.byText.set(text, prepared);
    }
    return prepared;
  }

  nextName(kind = 'stmt'): string {
    statementCounter += 1;
    return `lite_${kind}_${process.pid}_${statementCounter}`;
  }

  add(text: string, prepared: Prepared): void {
    this.byText.set(text, prepared);
    if (this.byText.size > MAX_PREPARED) {
      const [oldest, old] = this.byText.entries().next().value as [string, Prepared];
      this.byText.delete(oldest);
      this.evicted.push(old.name);
    }
  }

  /** Statements owed a deallocation (evicted entries), closed at the start of the next pipeline. */
  takeEvicted(): string[] {
    const out = this.evicted;
    this.evicted = [];
    return out;
  }

  /**
   * After a failed transaction: statements prepared in it may or may not exist (a Parse is not undone by ROLLBACK),
   * so ask; a lost or invalidated statement (`26000`, `0A000`) is forgotten so the next attempt prepares it again.
   * One that exists but was never described is described on its next use.
   */
  async settle(client: pg.ClientBase, fresh: Array<[string, string]>, error: unknown): Promise<void> {
    const code = (error as { code?: unknown })?.code;
    if (code === '26000' || code === '0A000') this.byText.clear();
    if (fresh.length === 0) return;
    const { rows } = await client.query<{ name: string }>('select name from pg_catalog.pg_prepared_statements where name = any($1)', [fresh.map(([, n]) => n)]);
    const existing = new Set(rows.map((r) => r.name));
    for (const [text, name] of fresh) if (existing.has(name)) this.add(text, { name });
  }
}

/** Options for {@link Db}. */
export interface DbOptions {
  /** Connections in the pool. */
  max?: number;
  /** Opens each connection's byte stream instead of a TCP socket to `url` (the embedded PGlite, in process). */
  stream?: () => Duplex;
}

/**
 * The stack's only way into Postgres: an ordinary connection pool speaking the wire protocol, so the same code runs
 * against the embedded PGlite (in process, see `in-process.ts`) or any real Postgres given by URL. Every unit of
 * work is one transaction.
 */
export class Db {
  readonly pool: pg.Pool;

  constructor(readonly url: string, options: DbOptions = {}) {
    this.pool = new pg.Pool({ connectionString: url, max: options.max ?? 8, idleTimeoutMillis: 0, stream: options.stream });
    // An idle client that loses its socket must not crash the process; the pool replaces it.
    this.pool.on('error', () => {});
  }

  /**
   * Runs `fn` inside `begin … commit` on one connection, rolling back if it throws.
   * Session state is reset first because PGlite shares one session between every connection.
   */
  async tx<T>(fn: (client: TxClient) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      // One round trip: begin, reset what another PGlite connection may have left in the shared session, apply the
      // caller's settings. Values are quoted by the driver (simple protocol has no parameters).
      const settings: Array<[string, string]> = [...SESSION_RESET, ...(options.settings ?? [])];
      await client.query(`${options.readOnly ? 'begin read only' : 'begin'}; ${settingsSelect(client, settings)}`);
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (error) {
      try {
        await client.query('rollback');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Like {@link tx}, for callers that care about round trips: nothing is sent until the first query, which travels
   * with `begin`, the probe and the settings as one extended-protocol pipeline (see {@link Pipeline}); a read-only
   * transaction's final query carries the `commit` as well, and when the first query is also the final one of a
   * read-only transaction the pipeline is the transaction (statements up to a Sync are one), so neither `begin` nor
   * `commit` is sent and read-only is one more local setting (`transaction_read_only`, what `begin read only` sets).
   * Queries given `values` are named prepared statements, kept per connection and per SQL text, so Postgres parses
   * and plans each query shape once; so are the probe and the settings (one statement per set of setting names, see
   * {@link settingsTemplate}). A failure anywhere rolls the whole transaction back.
   */
  async batchTx<T>(fn: (tx: BatchTx) => Promise<T>, options: BatchTxOptions = {}): Promise<T> {
    const client = await this.pool.connect();
    const statements = this.statementsOf(client);
    let broken = false;
    let state = 'idle' as 'idle' | 'open' | 'done';
    // Statements parsed in this transaction, as [text, name]: known to exist only once their step has run.
    const fresh: Array<[string, string]> = [];
    // What the caller sets itself needs no reset first.
    const given = new Set((options.settings ?? []).map(([name]) => name));
    const settings = [...SESSION_RESET.filter(([name]) => !given.has(name)), ...(options.settings ?? [])];
    const step = (text: string, values: unknown[] | undefined, kind?: string): Step => {
      if (values === undefined) return { name: '', text, values: [], parse: true };
      const params = values.map(textParam);
      const known = statements.get(text);
      if (known) return { name: known.name, text, values: params, parse: false, columns: known.columns };
      const name = statements.nextName(kind);
      fresh.push([text, name]);
      return { name, text, values: params, parse: true };
    };
    const tx: BatchTx = {
      query: async (text, final = false, values) => {
        if (state === 'done') throw new Error('batchTx: query after the final one');
        const last = final && options.readOnly === true;
        const first = state === 'idle';
        const implicit = first && last;
        const steps: Step[] = [];
        let settingsAt = -1;
        if (first) {
          if (!implicit) steps.push(step(options.readOnly ? 'begin read only' : 'begin', undefined));
          const all: Array<[string, string]> = implicit ? [...settings, ['transaction_read_only', 'on']] : settings;
          settingsAt = steps.length;
          steps.push(step(settingsTemplate(all.map(([name]) => name), options.probe), all.map(([, value]) => value), 'settings'));
        }
        steps.push(step(text, values));
        const commit = last && !implicit;
        if (commit) steps.push(step('commit', undefined));
        // An implicit transaction ends with its pipeline, failed or not: nothing is left to commit or roll back.
        state = implicit ? 'done' : 'open';
        const results = await Pipeline.run(client, steps, statements.takeEvicted());
        if (last) state = 'done';
        steps.forEach((s, i) => {
          if (s.name !== '' && !s.columns) statements.add(s.text, { name: s.name, columns: results[i].columns });
        });
        fresh.length = 0;
        if (first) options.afterFirst?.(options.probe ? results[settingsAt].rows[0].probe : undefined);
        return results[results.length - (commit ? 2 : 1)];
      },
      extended: async (text, values) => {
        if (state === 'done') throw new Error('batchTx: query after the final one');
        if (state === 'idle') await tx.query('select');
        return client.query(text, values);
      },
    };
    try {
      const result = await fn(tx);
      if (state === 'idle' && options.probe) {
        // Nothing was queried (an answer from cached state): still run the probe's check.
        await tx.query('commit');
        state = 'done';
      }
      if (state === 'open') await client.query('commit');
      state = 'done';
      return result;
    } catch (error) {
      if (state === 'open') {
        try {
          await client.query('rollback');
        } catch {
          broken = true;
        }
      }
      if (!broken) await statements.settle(client, fresh.splice(0), error).catch(() => {});
      throw error;
    } finally {
      client.release(broken);
    }
  }

  private readonly prepared = new WeakMap<pg.PoolClient, PreparedStatements>();

  private statementsOf(client: pg.PoolClient): PreparedStatements {
    let statements = this.prepared.get(client);
    if (!statements) {
      statements = new PreparedStatements();
      this.prepared.set(client, statements);
    }
    return statements;
  }

  /** One statement in its own transaction. */
  async query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.tx((client) => client.query<R>(text, values));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
