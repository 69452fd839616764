import { isLiteVersion } from '../db/extensions/index.ts';
import type { Db } from '../db/pool.ts';
import { CronExecutor } from './cron.ts';
import { NetExecutor } from './net.ts';

export { STACK_SECRETS, upsertStackSecrets } from './secrets.ts';

/** How often due cron jobs are looked for, as pg_cron's worker wakes at least every second. */
const CRON_INTERVAL_MS = 1000;
/** How often net.http_request_queue is polled (pg_net is woken by its functions instead; we cannot be). */
const NET_INTERVAL_MS = 200;

/** Options for {@link startScheduler}. */
export interface SchedulerOptions {
  /** Run on timers; false leaves everything to {@link Scheduler.tick}. Default true. */
  enabled?: boolean;
}

/** The stack's stand-in for the background workers of pg_cron and pg_net. */
export interface Scheduler {
  /**
   * One deterministic pass, for tests: runs the cron jobs due at `now` (default: the current time) and waits for
   * them, then sends every queued pg_net request (including those the jobs queued) and waits for the responses to
   * be recorded. Acts only on extensions that are the lite stack's own.
   */
  tick(now?: Date): Promise<void>;
  stop(): Promise<void>;
}

/** Which of pg_cron and pg_net in this database are the lite stack's (a real one is left to its own worker). */
interface Ownership {
  cron: boolean;
  net: boolean;
}

async function readOwnership(db: Db): Promise<Ownership> {
  const { rows } = await db.query<{ extname: string; extversion: string }>(
    `select extname::text, extversion from pg_catalog.pg_extension where extname in ('pg_cron', 'pg_net')`,
  );
  const version = (name: string) => rows.find((r) => r.extname === name)?.extversion;
  return { cron: isLiteVersion(version('pg_cron')), net: isLiteVersion(version('pg_net')) };
}

/**
 * Starts running the lite stack's pg_cron jobs and sending its pg_net requests through the stack's pool, checking
 * every second whether those extensions are installed (and ours). No transaction stays open while a request is on
 * the network: PGlite is one session, and an open transaction there blocks every other client.
 */
export function startScheduler(ctx: { db: Db; log: (line: string) => void }, options: SchedulerOptions = {}): Scheduler {
  const cron = new CronExecutor(ctx.db, ctx.log);
  const net = new NetExecutor(ctx.db, ctx.log);
  let ownership: Ownership = { cron: false, net: false };
  let stopped = false;
  const timers = new Set<NodeJS.Timeout>();
  const pending = new Set<Promise<unknown>>();
  let lastError = '';

  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => {});
    return work;
  };
  const report = (error: unknown) => {
    const message = (error as Error)?.message ?? String(error);
    // The same failure on every tick (an extension dropped mid-tick, a database going away) is logged once.
    if (stopped || message === lastError) return;
    lastError = message;
    ctx.log(`scheduler: ${message}`);
  };
  const every = (ms: number, step: () => Promise<unknown>) => {
    const loop = async () => {
      if (stopped) return;
      try {
        await track(step());
        lastError = '';
      } catch (error) {
        report(error);
      }
      if (stopped) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        void loop();
      }, ms);
      timer.unref();
      timers.add(timer);
    };
    void loop();
  };

  if (options.enabled !== false) {
    every(CRON_INTERVAL_MS, async () => {
      ownership = await readOwnership(ctx.db);
      if (ownership.cron) for (const run of await cron.tick(Date.now())) track(run);
    });
    every(NET_INTERVAL_MS, async () => {
      if (ownership.net) for (const send of await net.tick(Date.now())) track(send);
    });
  }

  return {
    async tick(now = new Date()) {
      ownership = await readOwnership(ctx.db);
      if (ownership.cron) await Promise.all(await cron.tick(now.getTime()));
      if (ownership.net) {
        // More may be queued than are sent at once: repeat until the queue is empty.
        let sends = await net.tick(now.getTime());
        while (sends.length > 0) {
          await Promise.all(sends);
          sends = await net.tick(now.getTime());
        }
      }
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      net.stop();
      await Promise.allSettled([...pending]);
    },
  };
}
