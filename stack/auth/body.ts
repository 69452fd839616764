import type { z } from 'zod';
import { AuthError } from './errors.ts';
import { findNul } from '../text.ts';

/** GoTrue wraps every request body in a 1 MB `MaxBytesReader`. */
export const MAX_BODY_BYTES = 1 << 20;

/** Reads the raw body, refusing more than {@link MAX_BODY_BYTES} without buffering the excess. */
export async function readBodyText(request: Request): Promise<string> {
  const declared = Number(request.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) throw tooLarge();
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function tooLarge(): AuthError {
  return new AuthError(413, 'request_entity_too_large', `Request body too large (max ${MAX_BODY_BYTES} bytes)`);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join('.') : 'body';
  return `${path}: ${issue.message}`;
}

/**
 * Parses the body as JSON and validates it with `schema` (unknown keys are ignored, as Go's decoder does).
 * Syntax errors and wrongly typed fields are 400 `bad_json`, like GoTrue's `retrieveRequestParams`.
 */
export async function readJson<S extends z.ZodType>(request: Request, schema: S): Promise<z.infer<S>> {
  return parseJson(await readBodyText(request), schema);
}

/** {@link readJson} for a body already read. */
export function parseJson<S extends z.ZodType>(text: string, schema: S): z.infer<S> {
  let value: unknown;
  if (text.trim() === '') {
    throw new AuthError(400, 'bad_json', 'Could not parse request body as JSON: unexpected end of JSON input');
  }
  try {
    value = JSON.parse(text);
  } catch {
    throw new AuthError(400, 'bad_json', 'Could not parse request body as JSON: invalid JSON syntax');
  }
  rejectNul(value, '');
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new AuthError(400, 'bad_json', `Could not parse request body as JSON: ${describeIssue(parsed.error.issues[0])}`);
  }
  return parsed.data;
}

/**
 * Postgres cannot store U+0000 in text or jsonb, so GoTrue answers such input with a 500. Here it is a 400 naming the
 * field (`a.b[0]`; for a key, the object holding it), found before anything reaches the database.
 */
function rejectNul(root: unknown, rootPath: string): void {
  const found = findNul(root);
  if (!found) return;
  const field = found.path.reduce<string>(
    (path, step) => (typeof step === 'number' ? `${path}[${step}]` : path ? `${path}.${step}` : step),
    rootPath,
  );
  throw nulError(field || 'body');
}

function nulError(field: string): AuthError {
  return new AuthError(400, 'validation_failed', `${field}: must not contain a NUL character (\\u0000)`);
}

/** {@link rejectNul} for query parameters (`redirect_to`, `token`, …), which reach the database and mail links too. */
export function rejectNulInQuery(url: URL): void {
  for (const [key, value] of url.searchParams) if (key.includes('\u0000') || value.includes('\u0000')) throw nulError(key);
}
