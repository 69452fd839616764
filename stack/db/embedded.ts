import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import { uuid_ossp } from '@electric-sql/pglite/contrib/uuid_ossp';
import { pgmq } from '@electric-sql/pglite-pgmq';
import { pgtap } from '@electric-sql/pglite-pgtap';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Duplex } from 'node:stream';
import { DB_NAME, DB_PASSWORD, DB_USER } from '../defaults.ts';
import { liteExtensions } from './extensions/index.ts';
import { inProcessConnector } from './in-process.ts';

/** Options for {@link startEmbeddedPostgres}. */
export interface EmbeddedPostgresOptions {
  /** Directory that holds the cluster; `undefined` keeps everything in memory. */
  dataDir?: string;
  host: string;
  /** TCP port to serve the Postgres wire protocol on; 0 picks a free one. */
  port: number;
}

/** A running PGlite instance served over TCP. */
export interface EmbeddedPostgres {
  /** `postgresql://postgres:postgres@host:port/postgres` */
  url: string;
  port: number;
  pglite: PGlite;
  /**
   * Opens a wire-protocol connection without TCP, sharing the socket server's queue (for `pg`'s `stream` option);
   * `undefined` if this pglite-socket version does not allow it.
   */
  connect?: () => Duplex;
  stop(): Promise<void>;
}

/**
 * Starts PGlite (PostgreSQL in WASM) with the extensions Supabase projects use (pgvector, pgTAP, pgcrypto,
 * uuid-ossp, pgmq, and the stack's pg_cron, pg_net and supabase_vault) and serves it on the Postgres
 * wire protocol, so the stack, psql and the Supabase CLI all reach it the same way they would reach a server.
 *
 * PGlite is a single backend session: the socket server queues statements and keeps a connection that is inside a
 * transaction exclusive until it commits, so callers must only use transaction-local settings.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true });
  const pglite = await PGlite.create({
    dataDir: options.dataDir,
    username: DB_USER,
    database: DB_NAME,
    // pg_cron, pg_net and supabase_vault are the stack's own imitations (./extensions); pgmq is the real one.
    extensions: { vector, pgtap, pgcrypto, uuid_ossp, pgmq, liteExtensions },
  });
  // What `alter role postgres set search_path` (bootstrap) gives a new session on a real server; PGlite has only
  // the one session, opened before the bootstrap ran.
  await pglite.exec(`set search_path to "$user", public, extensions`);
  const server = new PGLiteSocketServer({
    db: pglite,
    host: options.host,
    port: options.port,
    maxConnections: 64,
  });
  await server.start();
  const connector = inProcessConnector(server);
  const port = Number(server.getServerConn().split(':').pop());
  return {
    url: `postgresql://${DB_USER}:${DB_PASSWORD}@${options.host}:${port}/${DB_NAME}`,
    port,
    pglite,
    connect: connector?.connect,
    async stop() {
      await connector?.close();
      await server.stop();
      await pglite.close();
    },
  };
}
