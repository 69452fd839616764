import { createHash } from 'node:crypto';
import { access, readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DatabaseError } from 'pg';
import type { Db, TxClient } from './pool.ts';

const BOOTSTRAP_DIR = fileURLToPath(new URL('./bootstrap/', import.meta.url));
const MIGRATION_FILE = /^(\d+)_(.*)\.sql$/;

/** A migration file found on disk. */
export interface MigrationFile {
  version: string;
  name: string;
  path: string;
}

/** Raised when a bootstrap, migration or seed file fails; names the file and carries the Postgres error. */
export class MigrationError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
    sql = '',
  ) {
    super(`${file}: ${describePgError(cause, sql)}`);
    this.name = 'MigrationError';
  }
}

function describePgError(error: unknown, sql: string): string {
  const e = error as Partial<DatabaseError> & Error;
  const parts = [e.message];
  if (e.code) parts.push(`(SQLSTATE ${e.code})`);
  if (e.position) {
    const before = sql.slice(0, Number(e.position) - 1).split('\n');
    parts.push(`at line ${before.length}, column ${before[before.length - 1].length + 1}`);
  }
  if (e.detail) parts.push(`— ${e.detail}`);
  return parts.join(' ');
}

/** Runs one SQL file in one transaction; `record` runs in the same transaction, after the file. */
async function runFile(db: Db, path: string, record?: (client: TxClient, sql: string) => Promise<unknown>): Promise<void> {
  const sql = await readFile(path, 'utf8');
  try {
    await db.tx(async (client) => {
      await client.query(sql);
      await record?.(client, sql);
    });
  } catch (error) {
    throw new MigrationError(basename(path), error, sql);
  }
}

/** Creates the Supabase roles, schemas and auth/storage tables (idempotent; runs on every start). */
export async function bootstrap(db: Db): Promise<void> {
  const files = (await readdir(BOOTSTRAP_DIR)).filter((f) => f.endsWith('.sql')).sort();
  for (const file of files) await runFile(db, join(BOOTSTRAP_DIR, file));
}

/** Lists `supabase/migrations/<version>_<name>.sql` in version order, as the CLI does. */
export async function listMigrations(migrationsDir: string): Promise<MigrationFile[]> {
  let entries: string[];
  try {
    entries = await readdir(migrationsDir);
  } catch {
    return [];
  }
  return entries
    .map((file) => ({ file, match: MIGRATION_FILE.exec(file) }))
    .filter((e) => e.match !== null)
    .map(({ file, match }) => ({ version: match![1], name: match![2], path: join(migrationsDir, file) }))
    .sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
}

/** What {@link migrate} did. */
export interface MigrateResult {
  applied: string[];
  seeded: boolean;
}

/**
 * Applies pending migrations, each in its own transaction and recorded in
 * `supabase_migrations.schema_migrations` like `supabase migration up`; then, on a database that had no
 * migration history, runs the seed file and records it in `supabase_migrations.seed_files`.
 * Stops at the first failure, leaving the database as it was before that file.
 */
export async function migrate(db: Db, options: { migrationsDir: string; seedPath?: string }): Promise<MigrateResult> {
  const { rows: done } = await db.query<{ version: string }>('select version from supabase_migrations.schema_migrations');
  const { rows: seeds } = await db.query('select 1 from supabase_migrations.seed_files limit 1');
  const fresh = done.length === 0 && seeds.length === 0;
  const doneVersions = new Set(done.map((r) => r.version));
  const applied: string[] = [];
  for (const m of await listMigrations(options.migrationsDir)) {
    if (doneVersions.has(m.version)) continue;
    await runFile(db, m.path, (client, sql) =>
      client.query('insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)', [
        m.version,
        m.name,
        [sql],
      ]),
    );
    applied.push(`${m.version}_${m.name}`);
  }
  let seeded = false;
  if (fresh && options.seedPath && (await access(options.seedPath).then(() => true, () => false))) {
    await runFile(db, options.seedPath, (client, text) =>
      client.query(
        'insert into supabase_migrations.seed_files (path, hash) values ($1, $2) on conflict (path) do update set hash = excluded.hash',
        ['supabase/seed.sql', createHash('sha256').update(text).digest('hex')],
      ),
    );
    seeded = true;
  }
  return { applied, seeded };
}
