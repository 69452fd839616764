import pg from 'pg';

/** A client checked out for one transaction. */
export type TxClient = pg.PoolClient;

/** Options for one transaction. */
export interface TxOptions {
  /** `begin read only`, as PostgREST does for GET/HEAD. */
  readOnly?: boolean;
  /** Transaction-local settings (`set_config(name, value, true)`) applied before `fn` runs, in order. */
  settings?: Array<[string, string]>;
}

/**
 * The stack's only way into Postgres: an ordinary connection pool over TCP, so the same code runs against the
 * embedded PGlite or any real Postgres given by URL. Every unit of work is one transaction.
 */
export class Db {
  readonly pool: pg.Pool;

  constructor(readonly url: string, max = 8) {
    this.pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 0 });
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
      const settings: Array<[string, string]> = [['role', 'none'], ['search_path', 'public, extensions'], ...(options.settings ?? [])];
      const calls = settings.map(([name, value]) => `set_config(${client.escapeLiteral(name)}, ${client.escapeLiteral(value)}, true)`);
      await client.query(`${options.readOnly ? 'begin read only' : 'begin'}; select ${calls.join(', ')}`);
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

  /** One statement in its own transaction. */
  async query<R extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.tx((client) => client.query<R>(text, values));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
