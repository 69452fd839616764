import pg from 'pg';
import type { Db } from '../db/pool.ts';

/** The custom setting the DDL triggers bump; see {@link SESSION_MARK_EXPR}. */
const SESSION_MARK = 'lite_rest.schema_mark';

/**
 * How the Data API learns that the schema changed, as PostgREST does with `NOTIFY pgrst, 'reload schema'`.
 *
 * PGlite serves one backend session to every socket client and does not deliver NOTIFY across the socket, so the
 * primary mechanism works on any Postgres: event triggers on `ddl_command_end` and `sql_drop` bump a counter in
 * `extensions.lite_rest_schema_version`, and every request reads it in its own first statement and reloads the schema
 * cache when it moved. On PGlite, whose connections all share one session, the triggers also set a session setting
 * to a fresh value, and requests read that instead of the table (a table read would cost as much as the query). `extensions` is a schema the Supabase CLI treats as
 * managed, so `db diff` and type generation leave these objects alone. On a real Postgres the service also LISTENs
 * on channel `pgrst`, so an explicit `NOTIFY pgrst, 'reload schema'` (or `'reload config'`, which also re-reads role
 * settings) works as it does with PostgREST.
 */
export const INSTALL_SQL = `
create table if not exists extensions.lite_rest_schema_version (
  id boolean primary key default true check (id),
  version bigint not null default 0
);
comment on table extensions.lite_rest_schema_version is
  'Lite stack only: bumped by event triggers on DDL so the Data API reloads its schema cache.';
insert into extensions.lite_rest_schema_version (id, version) values (true, 0) on conflict (id) do nothing;
revoke all on extensions.lite_rest_schema_version from public;
grant select on extensions.lite_rest_schema_version to anon, authenticated, service_role;

create or replace function extensions.lite_rest_schema_watch() returns event_trigger
language plpgsql security definer set search_path = '' as $$
begin
  -- Tolerate the counter's absence, so that dropping it (or the whole schema) never fails a user's DDL.
  if pg_catalog.to_regclass('extensions.lite_rest_schema_version') is not null then
    update extensions.lite_rest_schema_version set version = version + 1;
  end if;
  -- Where every connection shares one session (PGlite), a session setting is a change mark readable for free.
  perform pg_catalog.set_config('${SESSION_MARK}', pg_catalog.gen_random_uuid()::text, false);
end
$$;
revoke all on function extensions.lite_rest_schema_watch() from public;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'lite_rest_ddl_watch') then
    create event trigger lite_rest_ddl_watch on ddl_command_end execute function extensions.lite_rest_schema_watch();
  end if;
  if not exists (select 1 from pg_catalog.pg_event_trigger where evtname = 'lite_rest_drop_watch') then
    create event trigger lite_rest_drop_watch on sql_drop execute function extensions.lite_rest_schema_watch();
  end if;
end
$$;`;

/** Read when (re)loading the schema cache, and per request on a Postgres whose connections have their own sessions. */
export const VERSION_SQL = 'select version::text as version from extensions.lite_rest_schema_version';

/** The same counter as an expression, for a request's first statement. */
export const VERSION_EXPR = '(select version::text from extensions.lite_rest_schema_version)';

/**
 * Reads the session change mark; where connections share one session (PGlite) it moves on every DDL, and reading
 * it costs nothing next to reading a table.
 */
export const SESSION_MARK_EXPR = `pg_catalog.current_setting('${SESSION_MARK}', true)`;

/** Sets the session change mark to a new value if it is unset (e.g. after a restart or `reset all`), and reads it. */
export const SESSION_MARK_SQL = `select coalesce(nullif(${SESSION_MARK_EXPR}, ''), pg_catalog.set_config('${SESSION_MARK}', pg_catalog.gen_random_uuid()::text, false)) as mark`;

/** Tracks whether the cached schema is current. */
export class SchemaWatch {
  /** False when the event triggers could not be installed (e.g. no superuser); then only NOTIFY reloads. */
  enabled = false;
  /** Set by NOTIFY (`reload schema` or `reload config`); forces a reload of the cache and role settings on the next request. */
  notified = false;
  /** Every connection shares one session (PGlite): the session change mark is usable. */
  sharedSession = false;
  private listener: pg.Client | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: (line: string) => void,
  ) {}

  /** Installs the counter and event triggers (idempotent), and LISTENs on `pgrst` where NOTIFY is delivered. */
  async start(): Promise<void> {
    await this.install();
    const { rows } = await this.db.query<{ version: string }>('select pg_catalog.version() as version');
    this.sharedSession = /emscripten|PGlite/i.test(rows[0].version);
    if (this.sharedSession) return;
    try {
      const client = new pg.Client({ connectionString: this.db.url });
      client.on('error', () => {});
      client.on('notification', (msg) => {
        const payload = msg.payload ?? '';
        if (msg.channel === 'pgrst' && (payload === 'reload schema' || payload === 'reload config' || payload === '')) {
          this.notified = true;
        }
      });
      await client.connect();
      await client.query('listen pgrst');
      this.listener = client;
    } catch (error) {
      this.log(`Data API: LISTEN pgrst unavailable (${(error as Error).message}); relying on the DDL counter`);
    }
  }

  /** (Re)creates the counter and triggers; called at start and when the counter has disappeared (e.g. db reset). */
  async install(): Promise<void> {
    try {
      await this.db.query(INSTALL_SQL);
      this.enabled = true;
    } catch (error) {
      this.enabled = false;
      this.log(`Data API: schema change triggers unavailable (${(error as Error).message}); use NOTIFY pgrst, 'reload schema'`);
    }
  }

  async stop(): Promise<void> {
    await this.listener?.end().catch(() => {});
    this.listener = undefined;
  }
}
