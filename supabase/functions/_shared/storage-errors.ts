import { StorageApiError } from '@supabase/supabase-js';

/**
 * The status a Storage API error stands for. The Storage API answers HTTP 400 for most failures and puts the
 * real status in the body's string `statusCode` ("404", "409", "413", "415", "403"), which storage-js keeps on
 * `StorageApiError.statusCode`; this reads that, falling back to the HTTP status. `undefined` for anything that
 * is not a Storage API answer (network failures, an aborted upload body).
 */
export function storageErrorStatus(error: unknown): number | undefined {
  if (!(error instanceof StorageApiError)) return undefined;
  const status = Number(error.statusCode);
  return Number.isInteger(status) && status >= 100 && status < 600 ? status : error.status;
}
