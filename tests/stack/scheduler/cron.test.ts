import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { tempProject, type TempProject } from '../../helpers/project.ts';
import { startTestStack } from '../../helpers/stack.ts';

// The scheduler's timers are off: each test drives it with stack.scheduler.tick(time). Times only move forward
// through the file (as a clock does), so every test uses its own later day.
let project: TempProject;
let stack: Stack;

beforeAll(async () => {
  project = await tempProject({
    'supabase/migrations/20260101000000_enable_pg_cron.sql': `
      create extension if not exists pg_cron;
      create table public.ticks (id bigint generated always as identity primary key, job text not null, at timestamptz not null default now());`,
  });
  stack = await startTestStack({ projectDir: project.dir, scheduler: false });
});
afterAll(async () => {
  await stack?.stop();
  await project?.remove();
});
afterEach(async () => {
  await stack.db.query('delete from cron.job; delete from cron.job_run_details; delete from public.ticks');
});

const tick = (iso: string) => stack.scheduler.tick(new Date(iso));

async function sql<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]): Promise<R[]> {
  return (await stack.db.query<R>(text, values)).rows;
}

async function failure(text: string, values?: unknown[]): Promise<{ code?: string; message: string; hint?: string; detail?: string }> {
  const error = await stack.db.query(text, values).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!error) throw new Error(`expected ${text} to fail`);
  const { code, message, hint, detail } = error as { code?: string; message: string; hint?: string; detail?: string };
  return { code, message, hint, detail };
}

async function runs(jobid: string): Promise<Array<{ status: string; return_message: string; username: string }>> {
  return sql(
    `select status, return_message, username from cron.job_run_details
      where jobid = $1 and start_time is not null and end_time is not null order by runid`,
    [jobid],
  );
}

async function ticks(job: string): Promise<number> {
  return (await sql<{ n: number }>('select count(*)::int as n from public.ticks where job = $1', [job]))[0].n;
}

async function schedule(...args: string[]): Promise<string> {
  const params = args.map((_, i) => `$${i + 1}`).join(', ');
  return (await sql<{ id: string }>(`select cron.schedule(${params}) as id`, args))[0].id;
}

describe('cron.schedule, cron.unschedule and cron.alter_job', () => {
  it('schedules a job for the calling role with pg_cron’s defaults', async () => {
    const id = await schedule('*/5 * * * *', 'select 1');
    expect(await sql('select * from cron.job where jobid = $1', [id])).toEqual([
      {
        jobid: id,
        schedule: '*/5 * * * *',
        command: 'select 1',
        nodename: 'localhost',
        nodeport: 5432,
        database: 'postgres',
        username: 'postgres',
        active: true,
        jobname: null,
      },
    ]);
  });

  it('replaces the schedule and command of a job scheduled again under the same name', async () => {
    const first = await schedule('nightly', '0 3 * * *', 'select 1');
    const second = await schedule('nightly', '30 4 * * *', 'select 2');
    expect(second).toBe(first);
    expect(await sql('select jobname, schedule, command from cron.job')).toEqual([
      { jobname: 'nightly', schedule: '30 4 * * *', command: 'select 2' },
    ]);
  });

  it('unschedules by id and by name, and reports a job it cannot find as pg_cron does', async () => {
    const byId = await schedule('* * * * *', 'select 1');
    await schedule('named', '* * * * *', 'select 1');
    expect(await sql('select cron.unschedule($1::bigint) as ok', [byId])).toEqual([{ ok: true }]);
    expect(await sql(`select cron.unschedule('named') as ok`)).toEqual([{ ok: true }]);
    expect(await sql('select count(*)::int as n from cron.job')).toEqual([{ n: 0 }]);

    expect((await failure('select cron.unschedule($1::bigint)', [byId])).message).toBe(`could not find valid entry for job ${byId}`);
    expect((await failure(`select cron.unschedule('named')`)).message).toBe(`could not find valid entry for job 'named'`);
  });

  it('alters only the attributes it is given, and refuses an empty or unknown alteration', async () => {
    const id = await schedule('job', '* * * * *', 'select 1');
    await sql(`select cron.alter_job($1, schedule := '0 * * * *', active := false)`, [id]);
    expect(await sql('select schedule, command, active from cron.job')).toEqual([
      { schedule: '0 * * * *', command: 'select 1', active: false },
    ]);

    expect(await failure('select cron.alter_job($1)', [id])).toMatchObject({
      message: 'no updates specified',
      hint: 'You must specify at least one job attribute to change when calling alter_job',
    });
    expect((await failure(`select cron.alter_job(424242, command := 'select 2')`)).message).toBe(
      'Job 424242 does not exist or you don\'t own it',
    );
    expect((await failure(`select cron.alter_job($1, username := 'authenticated')`, [id])).message).toBe(
      'role "authenticated" can not log in',
    );
  });

  it.each(['x * * * *', '* * * *', '*/60 * * * *', '1/5 * * * *', '0 24 * * *', '0 0 32 * *', '0 0 * 13 *', '@Hourly', '@often', '60 seconds', '0 seconds', '5 minutes', ''])(
    'refuses the schedule %j with pg_cron’s error',
    async (bad) => {
      expect(await failure(`select cron.schedule($1, 'select 1')`, [bad])).toMatchObject({
        code: '22023',
        message: `invalid schedule: ${bad}`,
        hint: "Use cron format (e.g. 5 4 * * *), or interval format '[1-59] seconds'",
      });
    },
  );

  it.each(['1 seconds', '59 seconds', '10 Seconds', '2 second', '* * * * *', '*/5 * * * *', '0 0 * * 1-5', '0 13 2 6 *', '0 12 $ * *', '30 3 * * sat', '0 0 1 jan,jul *', '0-30/10 9-17 * * mon-fri', '@hourly', '@daily', '@weekly', '@reboot'])(
    'accepts the schedule %j',
    async (good) => {
      const id = await schedule(good, 'select 1');
      expect(await sql('select schedule from cron.job where jobid = $1', [id])).toEqual([{ schedule: good }]);
    },
  );

  it('keeps anon, authenticated and service_role out of schema cron', async () => {
    for (const role of ['anon', 'authenticated', 'service_role']) {
      const error = await stack.db
        .tx(async (c) => {
          await c.query(`select set_config('role', $1, true)`, [role]);
          await c.query(`select cron.schedule('* * * * *', 'select 1')`);
        })
        .catch((e: unknown) => e as { code?: string; message: string });
      expect(error).toMatchObject({ code: '42501', message: 'permission denied for schema cron' });
    }
  });
});

describe('running jobs', () => {
  it('runs a seconds schedule every N seconds from its last start', async () => {
    const id = await schedule('every-2s', '2 seconds', `insert into public.ticks (job) values ('every-2s')`);
    await tick('2030-01-01T00:00:00.000Z');
    expect(await ticks('every-2s')).toBe(1);
    await tick('2030-01-01T00:00:01.000Z');
    expect(await ticks('every-2s')).toBe(1);
    await tick('2030-01-01T00:00:02.000Z');
    await tick('2030-01-01T00:00:03.500Z');
    expect(await ticks('every-2s')).toBe(2);
    await tick('2030-01-01T00:00:04.000Z');
    expect(await ticks('every-2s')).toBe(3);
    expect(await runs(id)).toEqual(
      Array.from({ length: 3 }, () => ({ status: 'succeeded', return_message: 'INSERT 0 1', username: 'postgres' })),
    );
  });

  it('runs a 5-field schedule once in each matching UTC minute, catching up a few missed minutes', async () => {
    await schedule('quarter-past-ten', '15,45 10 * * *', `insert into public.ticks (job) values ('quarter')`);
    await tick('2030-01-02T10:14:30Z');
    expect(await ticks('quarter')).toBe(0);
    await tick('2030-01-02T10:15:01Z');
    expect(await ticks('quarter')).toBe(1);
    await tick('2030-01-02T10:15:40Z');
    await tick('2030-01-02T10:16:00Z');
    expect(await ticks('quarter')).toBe(1);
    // No tick between 10:43 and 10:47: the minutes in between are still evaluated, and 10:45 is due.
    await tick('2030-01-02T10:43:00Z');
    await tick('2030-01-02T10:47:00Z');
    expect(await ticks('quarter')).toBe(2);
    await tick('2030-01-02T11:15:00Z');
    expect(await ticks('quarter')).toBe(2);
  });

  it('matches day-of-month and day-of-week the way cron does', async () => {
    // 2030-01-31 is a Thursday and the last day of January.
    await schedule('last-day', '0 12 $ * *', `insert into public.ticks (job) values ('last-day')`);
    await schedule('mondays', '0 12 * * mon', `insert into public.ticks (job) values ('mondays')`);
    await schedule('first-or-thursday', '0 12 1 * thu', `insert into public.ticks (job) values ('first-or-thursday')`);
    await tick('2030-01-30T11:59:30Z');
    await tick('2030-01-30T12:00:05Z');
    expect([await ticks('last-day'), await ticks('mondays'), await ticks('first-or-thursday')]).toEqual([0, 0, 0]);
    await tick('2030-01-31T11:59:30Z');
    await tick('2030-01-31T12:00:05Z');
    expect([await ticks('last-day'), await ticks('mondays'), await ticks('first-or-thursday')]).toEqual([1, 0, 1]);
  });

  it('records the row count or command tag of the last statement of a succeeded run', async () => {
    const select = await schedule('select', '1 seconds', 'select 1 union all select 2');
    const insert = await schedule('insert', '1 seconds', `insert into public.ticks (job) values ('a'), ('b')`);
    const multi = await schedule('multi', '1 seconds', `select 1; delete from public.ticks where job = 'nobody'`);
    await tick('2030-01-03T00:00:00Z');
    expect((await runs(select))[0].return_message).toBe('2 rows');
    expect((await runs(insert))[0].return_message).toBe('INSERT 0 2');
    expect((await runs(multi))[0].return_message).toBe('DELETE 0');
  });

  it('records a failed run with the error and keeps running the job at its schedule', async () => {
    const id = await schedule('broken', '1 seconds', `insert into public.ticks (job) values ('broken'); select 1 / 0`);
    await tick('2030-01-04T00:00:00Z');
    await tick('2030-01-04T00:00:01Z');
    expect(await runs(id)).toEqual([
      { status: 'failed', return_message: 'ERROR:  division by zero', username: 'postgres' },
      { status: 'failed', return_message: 'ERROR:  division by zero', username: 'postgres' },
    ]);
    // Each run is its own transaction: the failed statement rolled back the insert before it.
    expect(await ticks('broken')).toBe(0);
  });

  it('runs a job as its username, under that role’s privileges and row-level security', async () => {
    await stack.db.query(`
      create role cron_runner login;
      create table public.notes (owner text not null, body text not null);
      alter table public.notes enable row level security;
      create policy notes_select_own on public.notes for select to cron_runner using (owner = current_user);
      grant select on public.notes to cron_runner;
      grant insert on public.ticks to cron_runner;
      insert into public.notes values ('cron_runner', 'mine'), ('postgres', 'not mine');`);
    const id = await schedule(
      'as-runner',
      '1 seconds',
      `insert into public.ticks (job) select current_user || ' sees ' || string_agg(body, ',') from public.notes`,
    );
    await sql(`select cron.alter_job($1, username := 'cron_runner')`, [id]);
    await tick('2030-01-05T00:00:00Z');
    expect(await runs(id)).toEqual([{ status: 'succeeded', return_message: 'INSERT 0 1', username: 'cron_runner' }]);
    expect(await ticks('cron_runner sees mine')).toBe(1);

    const denied = await schedule('denied', '1 seconds', `delete from public.notes`);
    await sql(`select cron.alter_job($1, username := 'cron_runner')`, [denied]);
    await tick('2030-01-05T00:00:01Z');
    expect(await runs(denied)).toEqual([
      { status: 'failed', return_message: 'ERROR:  permission denied for table notes', username: 'cron_runner' },
    ]);
  });

  it('does not run inactive jobs', async () => {
    const id = await schedule('paused', '1 seconds', `insert into public.ticks (job) values ('paused')`);
    await sql('select cron.alter_job($1, active := false)', [id]);
    await tick('2030-01-06T00:00:00Z');
    await tick('2030-01-06T00:00:01Z');
    expect(await ticks('paused')).toBe(0);
    await sql('select cron.alter_job($1, active := true)', [id]);
    await tick('2030-01-06T00:00:02Z');
    expect(await ticks('paused')).toBe(1);
  });
});
