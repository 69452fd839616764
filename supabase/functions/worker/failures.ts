import { EmbeddingError } from '../_shared/embeddings/index.ts';
import { IngestError } from '../_shared/ingest/errors.ts';

/** How a failed attempt is recorded on the document: a stable code, a sentence for its owner, and whether to retry. */
export interface Failure {
  code: string;
  message: string;
  retryable: boolean;
}

/** A failure the worker itself decides (not the parser or the embedder), e.g. a file over the plan's limit. */
export class WorkerFailure extends Error implements Failure {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

/**
 * What to record for an error thrown while working on a document. The file's own problems (unreadable, empty,
 * too big) fail the document at once: retrying cannot fix them. The embedding service's refusals say so without
 * technical detail; its outages and anything unexpected (Storage, the database, a bug) are retried with backoff,
 * and the document fails only after the last attempt.
 */
export function classify(error: unknown): Failure {
  if (error instanceof WorkerFailure) return { code: error.code, message: error.message, retryable: error.retryable };
  if (error instanceof IngestError) return { code: error.code, message: error.message, retryable: false };
  if (error instanceof EmbeddingError) {
    return error.retryable
      ? { code: `embedding_${error.code}`, message: 'The embedding service is busy or unreachable; processing will be retried.', retryable: true }
      : {
          code: `embedding_${error.code}`,
          message: 'The embedding service refused to process this document. Try reprocessing it later; if it keeps failing, contact support.',
          retryable: false,
        };
  }
  return { code: 'processing_error', message: 'Something went wrong while processing this file; it will be retried.', retryable: true };
}
