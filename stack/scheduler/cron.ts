import type { Db, TxClient } from '../db/pool.ts';
import { dueInMinute, type ParsedSchedule } from './cron-schedule.ts';

const MINUTE_MS = 60_000;
/** Missed minutes caught up after a short stall; after a longer one (a sleeping laptop) only the current minute. */
const MAX_CATCH_UP_MINUTES = 5;
/** pg_cron's cron.max_running_jobs is 32; PGlite runs one transaction at a time anyway, so a few is plenty. */
const MAX_RUNNING_JOBS = 4;

/** One active row of cron.job, with its schedule parsed by the extension. */
interface JobRow {
  jobid: string;
  jobname: string | null;
  command: string;
  database: string;
  username: string;
  parsed: ParsedSchedule | null;
  current_database: string;
}

/** What pg_cron keeps per job in its worker: queued runs, whether one is going, when the last one started. */
interface JobState {
  pending: number;
  running: boolean;
  lastStart: number | undefined;
}

/**
 * pg_cron's background worker, for the lite stack's pg_cron: on each tick it reads the active jobs, queues a run for
 * every job due since the last tick (5-field schedules per minute in UTC, `N seconds` every N seconds from the last
 * start, `@reboot` once) and starts queued runs of jobs that are not already running. Each run executes the job's
 * command in its own transaction as the job's username and is recorded in cron.job_run_details.
 */
export class CronExecutor {
  private readonly jobs = new Map<string, JobState>();
  private lastMinute: number | undefined;
  private rebootsQueued = false;
  private runningCount = 0;

  constructor(
    private readonly db: Db,
    private readonly log: (line: string) => void,
  ) {}

  /** Queues what is due at `now` (ms since the epoch) and starts runs; resolves with the runs it started. */
  async tick(now: number): Promise<Array<Promise<void>>> {
    const { rows } = await this.db.query<JobRow>(
      `select j.jobid::text as jobid, j.jobname, j.command, j.database, j.username,
              cron._lite_parse_schedule(j.schedule) as parsed, pg_catalog.current_database() as current_database
         from cron.job j
        where j.active
        order by j.jobid`,
    );
    const minutes = this.minutesToEvaluate(now);
    const active = new Set(rows.map((r) => r.jobid));
    for (const jobid of this.jobs.keys()) if (!active.has(jobid)) this.jobs.delete(jobid);

    const started: Array<Promise<void>> = [];
    for (const job of rows) {
      let state = this.jobs.get(job.jobid);
      if (!state) this.jobs.set(job.jobid, (state = { pending: 0, running: false, lastStart: undefined }));
      this.queueDueRuns(job.parsed, state, now, minutes);
      if (state.pending > 0 && !state.running && this.runningCount < MAX_RUNNING_JOBS) {
        state.pending -= 1;
        state.running = true;
        state.lastStart = now;
        this.runningCount += 1;
        started.push(
          this.run(job).finally(() => {
            state.running = false;
            this.runningCount -= 1;
          }),
        );
      }
    }
    this.rebootsQueued = true;
    return started;
  }

  /** The minute starts passed since the previous tick (none on the first tick, as pg_cron waits for a new minute). */
  private minutesToEvaluate(now: number): number[] {
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    const last = this.lastMinute;
    if (last === undefined || minute > last) this.lastMinute = minute;
    // A clock that went back waits until it has caught up, so fixed-time jobs do not run twice.
    if (last === undefined || minute <= last) return [];
    const passed = (minute - last) / MINUTE_MS;
    if (passed > MAX_CATCH_UP_MINUTES) return [minute];
    return Array.from({ length: passed }, (_, i) => last + (i + 1) * MINUTE_MS);
  }

  private queueDueRuns(parsed: ParsedSchedule | null, state: JobState, now: number, minutes: number[]): void {
    if (!parsed) return;
    if ('seconds' in parsed) {
      // Like pg_cron, an interval job that overruns queues at most one more run.
      if (state.pending === 0 && (state.lastStart === undefined || now - state.lastStart >= parsed.seconds * 1000)) {
        state.pending = 1;
      }
    } else if ('reboot' in parsed) {
      if (!this.rebootsQueued) state.pending += 1;
    } else {
      for (const minute of minutes) if (dueInMinute(parsed, new Date(minute))) state.pending += 1;
    }
  }

  private async run(job: JobRow): Promise<void> {
    const label = job.jobname ? `job ${job.jobid} (${job.jobname})` : `job ${job.jobid}`;
    let runid: string;
    try {
      const { rows } = await this.db.query<{ runid: string }>(
        `insert into cron.job_run_details (jobid, job_pid, database, username, command, status, start_time)
         values ($1, pg_catalog.pg_backend_pid(), $2, $3, $4, 'running', pg_catalog.clock_timestamp())
         returning runid::text as runid`,
        [job.jobid, job.database, job.username, job.command],
      );
      runid = rows[0].runid;
    } catch (error) {
      this.log(`cron: ${label} could not start: ${(error as Error).message}`);
      return;
    }

    let status: 'succeeded' | 'failed';
    let message: string;
    if (job.database !== job.current_database) {
      status = 'failed';
      message = `database "${job.database}" is not served by the lite stack`;
    } else {
      try {
        message = await this.db.tx(async (client) => {
          await client.query(`select pg_catalog.set_config('role', $1, true)`, [job.username]);
          return runCommand(client, job.command);
        });
        status = 'succeeded';
      } catch (error) {
        status = 'failed';
        message = `ERROR:  ${(error as Error).message}`;
      }
    }

    try {
      await this.db.query(
        `update cron.job_run_details
            set status = $2, return_message = $3, end_time = pg_catalog.clock_timestamp()
          where runid = $1`,
        [runid, status, message],
      );
    } catch (error) {
      this.log(`cron: ${label} finished but its run could not be recorded: ${(error as Error).message}`);
    }
    if (status === 'failed') this.log(`cron: ${label} failed: ${message}`);
  }
}

/**
 * Runs a job's command (one or more statements, by the simple query protocol as pg_cron sends it) and returns
 * pg_cron's return_message for its last statement: `N rows` when it returned rows, else the command tag
 * (`INSERT 0 1`, `CALL`, …).
 */
async function runCommand(client: TxClient, command: string): Promise<string> {
  const tags: string[] = [];
  const onComplete = (msg: { text: string }) => tags.push(msg.text);
  client.connection.on('commandComplete', onComplete);
  try {
    const result = await client.query(command);
    const results = Array.isArray(result) ? result : [result];
    const last = results[results.length - 1];
    if (last?.fields?.length) return `${last.rows.length} ${last.rows.length === 1 ? 'row' : 'rows'}`;
    return tags[tags.length - 1] ?? '0 rows';
  } finally {
    client.connection.off('commandComplete', onComplete);
  }
}
