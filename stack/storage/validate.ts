import { z } from 'zod';
import { StorageError } from './errors.ts';
import { findNul } from '../text.ts';

/**
 * Parses a JSON request body against `schema`; failures read like the Storage API's schema errors
 * (`body/prefixes must NOT have fewer than 1 items`), HTTP 400 with statusCode "400".
 */
export async function parseBody<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
  let value: unknown = {};
  const text = await request.text();
  if (text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch {
      throw new StorageError(400, 'InvalidRequest', 'Body is not valid JSON', 'Bad Request');
    }
  }
  mustNotContainNul(value, 'body');
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = ['body', ...issue.path.map(String)].join('/');
    throw new StorageError(400, 'InvalidRequest', `${path} ${issue.message}`, 'Bad Request');
  }
  return result.data;
}

/** Parses query parameters against `schema` with the same error shape (`querystring/limit …`). */
export function parseQuery<T extends z.ZodType>(url: URL, schema: T): z.infer<T> {
  const query = Object.fromEntries(url.searchParams);
  mustNotContainNul(query, 'querystring');
  const result = schema.safeParse(query);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new StorageError(400, 'InvalidRequest', ['querystring', ...issue.path.map(String)].join('/') + ` ${issue.message}`, 'Bad Request');
  }
  return result.data;
}

/**
 * Refuses text holding U+0000 before it reaches Postgres, which cannot store it in `text` or `jsonb` (it would
 * fail mid-request as a 500): HTTP 400, statusCode "400", `InvalidRequest`, naming where it was found.
 */
export function mustNotContainNul(value: unknown, where: string): void {
  const found = findNul(value);
  if (found !== undefined) {
    const steps = [...found.path.map(String), ...(found.key !== undefined ? [found.key.replaceAll('\u0000', '\\u0000')] : [])];
    const at = steps.map((step) => `/${step}`).join('');
    throw new StorageError(400, 'InvalidRequest', `${where}${at} must not contain the NUL character (\\u0000)`, 'Bad Request');
  }
}
