import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

// The scheduler runs on its own timers here, as under `npm run dev`: nothing in this file calls tick().
const WAIT = { timeout: 30_000, interval: 200 };

let stack: Stack;
const lines: string[] = [];

beforeAll(async () => {
  stack = await startTestStack({
    projectDir: join(import.meta.dirname, '..', '..', 'fixtures', 'scheduler-project'),
    log: (line) => lines.push(line),
  });
});
afterAll(async () => {
  await stack?.stop();
});

describe('trigger → pgmq → pg_cron → pg_net, with the URL and key from Vault', () => {
  it('delivers an inserted event to the stack’s Data API as the service role', async () => {
    await stack.db.query(`insert into public.events (payload) values ('{"document": 42}')`);

    await expect
      .poll(async () => (await stack.db.query('select event_id::int, payload, delivered_by from public.deliveries')).rows, WAIT)
      .toEqual([{ event_id: 1, payload: { document: 42 }, delivered_by: 'service_role' }]);

    const responses = await stack.db.query('select status_code, error_msg from net._http_response');
    expect(responses.rows).toEqual([{ status_code: 204, error_msg: null }]);
    const queue = await stack.db.query(`select (select count(*)::int from pgmq.q_events) as waiting, (select count(*)::int from pgmq.a_events) as archived`);
    expect(queue.rows).toEqual([{ waiting: 0, archived: 1 }]);
    expect(lines).toContainEqual(expect.stringMatching(/^net: POST http:\/\/127\.0\.0\.1:\d+\/rest\/v1\/rpc\/record_delivery → 204 \(\d+ ms\)$/));
  });
});

describe('pg_cron jobs on the scheduler’s own clock', () => {
  it('runs a one-second job by itself and records succeeded and failed runs', async () => {
    const { rows } = await stack.db.query(
      `select cron.schedule('works', '1 seconds', 'select 1') as works, cron.schedule('breaks', '1 seconds', 'select 1/0') as breaks`,
    );
    const { works, breaks } = rows[0] as { works: string; breaks: string };
    const finished = async (jobid: string) =>
      (
        await stack.db.query(
          `select distinct status, return_message from cron.job_run_details where jobid = $1 and end_time is not null`,
          [jobid],
        )
      ).rows;

    await expect.poll(() => finished(works), WAIT).toEqual([{ status: 'succeeded', return_message: '1 row' }]);
    await expect.poll(() => finished(breaks), WAIT).toEqual([{ status: 'failed', return_message: 'ERROR:  division by zero' }]);
    expect(lines).toContain(`cron: job ${breaks} (breaks) failed: ERROR:  division by zero`);
  });
});
