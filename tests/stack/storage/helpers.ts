import { fileURLToPath } from 'node:url';
import type { Stack, StackOptions } from '../../../stack/index.ts';
import { mintUser, startTestStack, type TestUser } from '../../helpers/stack.ts';

/** The fixture project: buckets in config.toml, per-user folder policies in a migration. */
export const STORAGE_PROJECT = fileURLToPath(new URL('../../fixtures/storage-project', import.meta.url));

export function startStorageStack(options: StackOptions = {}): Promise<Stack> {
  return startTestStack({ projectDir: STORAGE_PROJECT, ...options });
}

/** A fetch wrapper that keeps the last non-2xx response (status and JSON body) a client received. */
export class ErrorRecorder {
  last: { status: number; body: unknown } | undefined;

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    if (!response.ok) {
      const text = await response.clone().text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON; keep the text
      }
      this.last = { status: response.status, body };
    }
    return response;
  };
}

/** A {@link TestUser} whose client records its last error response in `errors`, so tests assert whole error bodies. */
export type RecordedUser = TestUser & { errors: ErrorRecorder };

/** A minted user (the Auth API is not needed for storage tests) whose client records its errors. */
export async function mintRecordedUser(stack: Stack): Promise<RecordedUser> {
  const errors = new ErrorRecorder();
  return { ...(await mintUser(stack, { prefix: 'storage', fetch: errors.fetch })), errors };
}

/** A storage error response as the server sends it: HTTP 400 (unless given) and `{statusCode, code, error, message}`. */
export function storageError(statusCode: string, code: string, error: string, message: string, status = 400) {
  return { status, body: { statusCode, code, error, message } };
}

/** Common bodies (contract §3.2). */
export const NO_SUCH_KEY = storageError('404', 'NoSuchKey', 'not_found', 'Object not found');
export const NO_SUCH_BUCKET = storageError('404', 'NoSuchBucket', 'Bucket not found', 'Bucket not found');
export const RLS_DENIED = storageError('403', 'AccessDenied', 'Unauthorized', 'new row violates row-level security policy');
export const DUPLICATE_KEY = storageError('409', 'KeyAlreadyExists', 'Duplicate', 'The resource already exists');
export const TOO_LARGE = storageError('413', 'EntityTooLarge', 'Payload too large', 'The object exceeded the maximum allowed size');
export const invalidMime = (mime: string) =>
  storageError('415', 'InvalidMimeType', 'invalid_mime_type', `mime type ${mime} is not supported`);
export const invalidKey = (key: string) => storageError('400', 'InvalidKey', 'InvalidKey', `Invalid key: ${key}`);

/** Reads a raw response as `{status, body}` for whole-body assertions. */
export async function responseOf(response: Response): Promise<{ status: number; body: unknown }> {
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/** Object rows of a bucket, read as postgres (what really is in the database). */
export async function objectNames(stack: Stack, bucket: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ name: string }>(
    'select name from storage.objects where bucket_id = $1 order by name',
    [bucket],
  );
  return rows.map((r) => r.name);
}

/** `fetch` against the storage API with the publishable key and optional bearer token. */
export function storageFetch(stack: Stack, path: string, init: RequestInit & { token?: string; key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (!headers.has('apikey') && init.key !== '') headers.set('apikey', init.key ?? stack.keys.publishable);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  return fetch(`${stack.apiUrl}/storage/v1${path}`, { ...init, headers });
}
