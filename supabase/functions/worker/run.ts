import type { Embedder } from '../_shared/embeddings/index.ts';
import { errorFields, type Logger } from '../_shared/log.ts';
import type { Client } from '../_shared/routes.ts';
import { classify } from './failures.ts';
import { embedSlice, extractSlice, type SliceLimits } from './ingest.ts';
import { purgeUserFiles } from './purge.ts';
import { ack, type Claimed, claim, fail, kick, reembedStale } from './queue.ts';

/** How one invocation works the queue. */
export interface RunOptions extends SliceLimits {
  /** Wall time after which no new message is claimed (the slice in hand still finishes). */
  budgetMs: number;
  /** Messages claimed and worked on at once. */
  concurrency: number;
  /** The lease: how long a claimed message stays invisible to other workers. */
  leaseSeconds: number;
}

/** What the run needs. */
export interface RunDeps {
  supabase: Client;
  embedder: Embedder;
  logger: Logger;
  now?: () => number;
}

/** What happened to one message. */
export interface Handled {
  msg_id: number;
  kind: string;
  document_id?: string;
  stage?: string;
  /** `saved` (more slices follow), `ready`, `superseded`, `purged`, or the failure's `retrying`/`failed`. */
  outcome: string;
  error_code?: string;
}

/** What an invocation did. */
export interface RunReport {
  handled: Handled[];
  /** Ready documents queued again because they were embedded with another model. */
  reembedding: number;
  /** `idle`: the queue had nothing visible; `budget`: time ran out with work left (the next kick continues). */
  stopped: 'idle' | 'budget';
}

/**
 * Works the ingestion queue until it is empty or the time budget is spent: claims a few messages, runs one slice
 * of each (extract or embed a document, or purge a deleted user's files), and records the outcome with the queue
 * RPCs. A crash at any point loses nothing: the claimed message reappears when its lease runs out.
 */
export async function runWorker(deps: RunDeps, options: RunOptions): Promise<RunReport> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const report: RunReport = { handled: [], reembedding: await reembedStale(deps.supabase, deps.embedder.id, 20), stopped: 'idle' };
  // At least one round per invocation, however small the budget: every call makes progress.
  do {
    const batch = await claim(deps.supabase, options.concurrency, options.leaseSeconds);
    if (batch.length === 0) return report;
    report.handled.push(...(await Promise.all(batch.map((message) => handle(deps, options, message, now)))));
  } while (now() - started < options.budgetMs);
  // Out of time with work left: saving a slice does not wake anyone, so this invocation hands over.
  report.stopped = 'budget';
  await kick(deps.supabase);
  return report;
}

async function handle(deps: RunDeps, options: RunOptions, claimed: Claimed, now: () => number): Promise<Handled> {
  const logger = deps.logger.child({ msg_id: claimed.msgId, attempt: claimed.readCt });
  if (claimed.kind === 'purge_user_files') {
    const base = { msg_id: claimed.msgId, kind: claimed.kind };
    try {
      const removed = await purgeUserFiles(deps.supabase, claimed.message.user_id);
      await ack(deps.supabase, claimed.msgId);
      logger.log('info', 'purged the files of a deleted user', { user_id: claimed.message.user_id, files: removed });
      return { ...base, outcome: 'purged' };
    } catch (error) {
      logger.log('error', 'purging a deleted user\'s files failed', errorFields(error));
      const outcome = await fail(deps.supabase, { msg_id: claimed.msgId, document_id: null, generation: null }, classify(error));
      return { ...base, outcome };
    }
  }
  if (claimed.kind === 'unknown') {
    logger.log('warn', 'archived a message the worker does not understand', { message: claimed.message });
    const outcome = await fail(
      deps.supabase,
      { msg_id: claimed.msgId, document_id: null, generation: null },
      { code: 'unknown_message', message: 'Unknown message.', retryable: false },
    );
    return { msg_id: claimed.msgId, kind: 'unknown', outcome };
  }

  const { message, document } = claimed;
  const held = { msg_id: claimed.msgId, document_id: document.id, generation: document.generation };
  const base = { msg_id: claimed.msgId, kind: 'document', document_id: document.id, stage: message.stage };
  const slice = { supabase: deps.supabase, embedder: deps.embedder, limits: options, now };
  try {
    const outcome =
      message.stage === 'extract'
        ? await extractSlice(slice, held, document, { nextPage: message.next_page, nextChunk: message.next_chunk })
        : await embedSlice(slice, held, document);
    logger.log('info', 'slice done', { document_id: document.id, stage: message.stage, outcome });
    return { ...base, outcome };
  } catch (error) {
    const failure = classify(error);
    logger.log(failure.retryable ? 'warn' : 'info', 'slice failed', {
      document_id: document.id,
      stage: message.stage,
      code: failure.code,
      ...errorFields(error),
    });
    const outcome = await fail(deps.supabase, held, failure);
    return { ...base, outcome, error_code: failure.code };
  }
}
