import { afterEach, describe, expect, it } from 'vitest';
import { MigrationError } from '../../stack/db/migrate.ts';
import type { Stack } from '../../stack/index.ts';
import { tempProject, type TempProject } from '../helpers/project.ts';
import { startTestStack } from '../helpers/stack.ts';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function project(files: Record<string, string>): Promise<TempProject> {
  const p = await tempProject(files);
  cleanups.push(() => p.remove());
  return p;
}

async function start(dir: string, dataDir?: string): Promise<Stack> {
  const stack = await startTestStack({ projectDir: dir, ...(dataDir ? { ephemeral: false, dataDir } : {}) });
  cleanups.push(() => stack.stop());
  return stack;
}

describe('migrations and seed', () => {
  it('applies migrations in version order and records them like the Supabase CLI', async () => {
    const p = await project({
      'supabase/migrations/20240102000000_add_column.sql': 'alter table public.things add column label text;',
      'supabase/migrations/20240101000000_create_things.sql': 'create table public.things (id int primary key);',
    });
    const stack = await start(p.dir);
    expect(stack.migrations.applied).toEqual(['20240101000000_create_things', '20240102000000_add_column']);
    const { rows } = await stack.db.query(
      'select version, name, statements from supabase_migrations.schema_migrations order by version',
    );
    expect(rows).toEqual([
      { version: '20240101000000', name: 'create_things', statements: ['create table public.things (id int primary key);'] },
      { version: '20240102000000', name: 'add_column', statements: ['alter table public.things add column label text;'] },
    ]);
  });

  it('stops start-up at a failing migration, naming the file and the Postgres error, and keeps earlier ones', async () => {
    const p = await project({
      'supabase/migrations/20240101000000_ok.sql': 'create table public.ok (id int);',
      'supabase/migrations/20240102000000_broken.sql':
        'create table public.half (id int);\ninsert into public.nope values (1);',
    });
    const dataDir = `${p.dir}/.stack`;
    const error = await startTestStack({ projectDir: p.dir, ephemeral: false, dataDir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toBe(
      '20240102000000_broken.sql: relation "public.nope" does not exist (SQLSTATE 42P01) at line 2, column 13',
    );

    // The broken file left nothing behind; the good one stayed. Fix the file and start again.
    await p.write('supabase/migrations/20240102000000_broken.sql', 'create table public.half (id int);');
    const stack = await start(p.dir, dataDir);
    expect(stack.migrations.applied).toEqual(['20240102000000_broken']);
    const { rows } = await stack.db.query("select count(*)::int as n from pg_tables where tablename in ('ok', 'half')");
    expect(rows[0].n).toBe(2);
  });

  it('runs seed.sql on a fresh database only, and never re-applies migrations after a restart', async () => {
    const p = await project({
      'supabase/migrations/20240101000000_create_things.sql': 'create table public.things (id int primary key);',
      'supabase/seed.sql': 'insert into public.things values (1), (2);',
    });
    const dataDir = `${p.dir}/.stack`;
    const first = await start(p.dir, dataDir);
    expect(first.migrations).toEqual({ applied: ['20240101000000_create_things'], seeded: true });
    await first.stop();
    cleanups.pop();

    const second = await start(p.dir, dataDir);
    expect(second.migrations).toEqual({ applied: [], seeded: false });
    const { rows } = await second.db.query('select array_agg(id order by id) as ids from public.things');
    expect(rows[0].ids).toEqual([1, 2]);
  });
});

describe('Supabase bootstrap', () => {
  it('provides the roles, schemas, extensions and helpers that Supabase migrations rely on', async () => {
    const p = await project({});
    const stack = await start(p.dir);
    const { rows } = await stack.db.query(`
      select
        (select array_agg(rolname::text order by rolname) from pg_roles
          where rolname in ('anon', 'authenticated', 'service_role', 'authenticator', 'supabase_admin')) as roles,
        (select rolbypassrls from pg_roles where rolname = 'service_role') as service_bypasses_rls,
        (select array_agg(extname::text order by extname) from pg_extension e join pg_namespace n on n.oid = e.extnamespace
          where n.nspname = 'extensions') as extensions,
        (select array_agg(pubname::text) from pg_publication) as publications,
        storage.foldername('u1/docs/a.txt') as folders,
        storage.filename('u1/docs/a.txt') as filename,
        storage.extension('u1/docs/a.tar.gz') as extension
    `);
    expect(rows[0]).toEqual({
      roles: ['anon', 'authenticated', 'authenticator', 'service_role', 'supabase_admin'],
      service_bypasses_rls: true,
      extensions: ['pgcrypto', 'uuid-ossp'],
      publications: ['supabase_realtime'],
      folders: ['u1', 'docs'],
      filename: 'a.txt',
      extension: 'gz',
    });
  });

  it('lets a migration use pgvector, auth.users foreign keys and auth.uid() policies', async () => {
    const p = await project({
      'supabase/migrations/20240101000000_notes.sql': `
        create extension if not exists vector with schema extensions;
        create table public.notes (
          id bigint generated always as identity primary key,
          user_id uuid not null references auth.users (id) on delete cascade,
          embedding extensions.vector(3)
        );
        alter table public.notes enable row level security;
        create policy notes_select_authenticated on public.notes for select to authenticated
          using (user_id = (select auth.uid()));`,
    });
    const stack = await start(p.dir);
    const uid = '11111111-1111-1111-1111-111111111111';
    await stack.db.query(`insert into auth.users (id, email) values ($1, 'a@example.com')`, [uid]);
    await stack.db.query(`insert into public.notes (user_id, embedding) values ($1, '[1,0,0]'), ($1, '[0,1,0]')`, [uid]);
    const seen = await stack.db.tx(async (c) => {
      await c.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
        JSON.stringify({ sub: uid, role: 'authenticated' }),
      ]);
      const mine = await c.query(`select (embedding <=> '[1,0,0]')::float as d from public.notes order by 1`);
      await c.query(`select set_config('request.jwt.claims', $1, true)`, [JSON.stringify({ sub: crypto.randomUUID() })]);
      const theirs = await c.query('select count(*)::int as n from public.notes');
      return { distances: mine.rows.map((r) => r.d), strangerCount: theirs.rows[0].n };
    });
    expect(seen).toEqual({ distances: [0, 1], strangerCount: 0 });
  });

  it('refuses direct SQL deletes from storage.objects unless the Storage API allows them', async () => {
    const p = await project({});
    const stack = await start(p.dir);
    const error = await stack.db.query('delete from storage.objects').catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('42501');
    expect((error as Error).message).toBe('Direct deletion from storage tables is not allowed. Use the Storage API instead.');
    const allowed = await stack.db.tx(async (c) => {
      await c.query(`select set_config('storage.allow_delete_query', 'true', true)`);
      return (await c.query('delete from storage.objects')).rowCount;
    });
    expect(allowed).toBe(0);
  });
});
