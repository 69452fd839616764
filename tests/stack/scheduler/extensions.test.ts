import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { tempProject, type TempProject } from '../../helpers/project.ts';
import { startTestStack } from '../../helpers/stack.ts';

let project: TempProject;
let stack: Stack;

beforeAll(async () => {
  project = await tempProject();
  stack = await startTestStack({ projectDir: project.dir, scheduler: false });
});
afterAll(async () => {
  await stack?.stop();
  await project?.remove();
});

/** Runs statements in one transaction, as a migration runs. */
async function run(sql: string): Promise<void> {
  await stack.db.query(sql);
}

async function installed(name: string): Promise<{ version: string; schema: string; comment: string } | undefined> {
  const { rows } = await stack.db.query(
    `select e.extversion as version, e.extnamespace::regnamespace::text as schema,
            pg_catalog.obj_description(e.oid, 'pg_extension') as comment
       from pg_catalog.pg_extension e where e.extname = $1`,
    [name],
  );
  return rows[0];
}

/** Which of the given objects exist (`to_regclass` for relations, `to_regprocedure` for functions). */
async function existing(relations: string[], functions: string[]): Promise<string[]> {
  const { rows } = await stack.db.query<{ name: string }>(
    `select r as name from unnest($1::text[]) r where pg_catalog.to_regclass(r) is not null
     union all
     select f from unnest($2::text[]) f where pg_catalog.to_regprocedure(f) is not null`,
    [relations, functions],
  );
  return rows.map((r) => r.name);
}

async function schemaExists(name: string): Promise<boolean> {
  const { rows } = await stack.db.query('select 1 from pg_catalog.pg_namespace where nspname = $1', [name]);
  return rows.length === 1;
}

const CRON_OBJECTS: [string[], string[]] = [
  ['cron.job', 'cron.job_run_details'],
  [
    'cron.schedule(text,text)',
    'cron.schedule(text,text,text)',
    'cron.schedule_in_database(text,text,text,text,text,boolean)',
    'cron.unschedule(bigint)',
    'cron.unschedule(text)',
    'cron.alter_job(bigint,text,text,text,text,boolean)',
  ],
];
const NET_OBJECTS: [string[], string[]] = [
  ['net.http_request_queue', 'net._http_response'],
  [
    'net.http_get(text,jsonb,jsonb,integer)',
    'net.http_post(text,jsonb,jsonb,jsonb,integer)',
    'net.http_delete(text,jsonb,jsonb,integer,jsonb)',
  ],
];
const VAULT_OBJECTS: [string[], string[]] = [
  ['vault.secrets', 'vault.decrypted_secrets'],
  ['vault.create_secret(text,text,text,uuid)', 'vault.update_secret(uuid,text,text,text,uuid)'],
];

describe('the lite stack’s pg_cron, pg_net and Vault', () => {
  it('come with Vault installed in schema vault, as hosted projects do', async () => {
    expect(await installed('supabase_vault')).toEqual({
      version: '0.3.1-lite',
      schema: 'vault',
      comment: 'Supabase Vault Extension (lite stack imitation: secrets are encoded, not encrypted)',
    });
    expect(await installed('pg_cron')).toBeUndefined();
    expect(await installed('pg_net')).toBeUndefined();
  });

  it.each([
    ['create extension if not exists pg_cron', 'pg_catalog'],
    ['create extension if not exists pg_cron with schema pg_catalog', 'pg_catalog'],
  ])('installs pg_cron with `%s` and removes it with drop extension', async (statement, schema) => {
    await run(`${statement}; ${statement}`);
    expect(await installed('pg_cron')).toEqual({
      version: '1.6-lite',
      schema,
      comment: 'Job scheduler for PostgreSQL (lite stack imitation: jobs are run by the stack, not by a background worker)',
    });
    expect(await existing(...CRON_OBJECTS)).toEqual([...CRON_OBJECTS[0], ...CRON_OBJECTS[1]]);

    await run('drop extension pg_cron');
    expect(await installed('pg_cron')).toBeUndefined();
    expect(await existing(...CRON_OBJECTS)).toEqual([]);
    expect(await schemaExists('cron')).toBe(false);
  });

  it('refuses pg_cron outside pg_catalog, as pg_cron’s control file does', async () => {
    const error = await run('create extension pg_cron with schema extensions').catch((e: unknown) => e);
    expect((error as Error).message).toBe('extension "pg_cron" must be installed in schema "pg_catalog"');
  });

  it.each([
    ['create extension if not exists pg_net with schema extensions', 'extensions'],
    ['create extension if not exists pg_net', 'public'],
  ])('installs pg_net with `%s` and removes it with drop extension', async (statement, schema) => {
    await run(`${statement}; ${statement}`);
    expect(await installed('pg_net')).toEqual({
      version: '0.20.0-lite',
      schema,
      comment: 'Async HTTP (lite stack imitation: requests are sent by the stack, not by a background worker)',
    });
    expect(await existing(...NET_OBJECTS)).toEqual([...NET_OBJECTS[0], ...NET_OBJECTS[1]]);

    await run('drop extension pg_net');
    expect(await installed('pg_net')).toBeUndefined();
    expect(await existing(...NET_OBJECTS)).toEqual([]);
    expect(await schemaExists('net')).toBe(false);
  });

  it.each([
    'create extension if not exists supabase_vault with schema vault',
    'create extension if not exists supabase_vault',
  ])('reinstalls Vault with `%s` after drop extension removed its objects', async (statement) => {
    await run(statement);
    await run('drop extension supabase_vault');
    expect(await installed('supabase_vault')).toBeUndefined();
    expect(await existing(...VAULT_OBJECTS)).toEqual([]);
    // As on hosted Supabase, the schema predates the extension and outlives it.
    expect(await schemaExists('vault')).toBe(true);

    await run(`${statement}; ${statement}`);
    expect((await installed('supabase_vault'))?.schema).toBe('vault');
    expect(await existing(...VAULT_OBJECTS)).toEqual([...VAULT_OBJECTS[0], ...VAULT_OBJECTS[1]]);
  });
});

describe('pgmq', () => {
  it('is the real extension, version 1.11.1, and sends, reads, hides, archives and deletes messages', async () => {
    await run(`create extension if not exists pgmq; select pgmq.create('jobs')`);
    expect(await installed('pgmq')).toMatchObject({ version: '1.11.1', schema: 'pgmq' });

    const sent = await stack.db.query(
      `select (select pgmq.send('jobs', '{"n": 1}')) as first, (select pgmq.send('jobs', '{"n": 2}')) as second`,
    );
    expect(sent.rows).toEqual([{ first: '1', second: '2' }]);

    const read = async () =>
      (await stack.db.query(`select msg_id::int, read_ct, message from pgmq.read('jobs', 30, 10) order by msg_id`)).rows;
    expect(await read()).toEqual([
      { msg_id: 1, read_ct: 1, message: { n: 1 } },
      { msg_id: 2, read_ct: 1, message: { n: 2 } },
    ]);
    expect(await read()).toEqual([]);

    await run(`select pgmq.set_vt('jobs', 1, 0)`);
    expect(await read()).toEqual([{ msg_id: 1, read_ct: 2, message: { n: 1 } }]);

    const done = await stack.db.query(`select pgmq.archive('jobs', 1) as archived, pgmq.delete('jobs', 2) as deleted`);
    expect(done.rows).toEqual([{ archived: true, deleted: true }]);
    const archive = await stack.db.query(`select msg_id::int, message from pgmq.a_jobs`);
    expect(archive.rows).toEqual([{ msg_id: 1, message: { n: 1 } }]);
    const metrics = await stack.db.query(`select queue_length::int, total_messages::int from pgmq.metrics('jobs')`);
    expect(metrics.rows).toEqual([{ queue_length: 0, total_messages: 2 }]);
  });
});
