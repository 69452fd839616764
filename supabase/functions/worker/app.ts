import { z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import type { Embedder } from '../_shared/embeddings/index.ts';
import { createLogger, type Logger } from '../_shared/log.ts';
import { type SystemRouteDeps, systemRoute } from '../_shared/routes.ts';
import { type RunOptions, runWorker } from './run.ts';

/** What the worker app needs: the system callers' keys, the service client, the embedder and its limits. */
export interface WorkerDeps extends SystemRouteDeps {
  embedder: Embedder;
  options: RunOptions;
  logger?: Logger;
}

/** Defaults sized for the edge runtime: ~2 s of CPU per request, 150–400 s of wall clock. */
export const DEFAULT_RUN_OPTIONS: RunOptions = {
  budgetMs: 20_000,
  concurrency: 2,
  leaseSeconds: 120,
  sliceMs: 2_000,
  maxChunksPerSlice: 200,
  embedBatch: 64,
};

const HandledSchema = z.object({
  msg_id: z.number().int(),
  kind: z.string(),
  document_id: z.uuid().optional(),
  stage: z.string().optional(),
  outcome: z.string().openapi({ description: 'saved, ready, superseded, purged, retrying or failed' }),
  error_code: z.string().optional(),
});

const RunReportSchema = z
  .object({
    handled: z.array(HandledSchema),
    reembedding: z.number().int().openapi({ description: 'Ready documents queued again for a changed embedder.' }),
    stopped: z.enum(['idle', 'budget']),
  })
  .openapi('WorkerRun');

/**
 * The `worker` function: `POST /worker` works the `document_ingestion` queue (Supabase Queues) until it is empty
 * or the time budget is spent, and answers what it did. Only system callers (pg_net from the database, with the
 * secret key from Vault; an operator with the service_role key) may call it.
 */
export function createApp(deps: WorkerDeps) {
  const logger = deps.logger ?? createLogger({ function: 'worker' });
  const app = createFunctionApp({ name: 'worker', description: 'Processes uploaded documents from the ingestion queue.', logger });

  const run = systemRoute(deps, {
    method: 'post',
    path: '/',
    summary: 'Work the ingestion queue for one time budget',
    responses: { 200: { description: 'What this run did', content: { 'application/json': { schema: RunReportSchema } } } },
  });
  app.openapi(run, async (c) => {
    const report = await runWorker({ supabase: c.var.supabase, embedder: deps.embedder, logger: c.var.logger }, deps.options);
    return c.json(report, 200);
  });
  return app;
}
