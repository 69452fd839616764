import { z } from 'zod';
import { StorageError } from './errors.ts';

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
  const result = schema.safeParse(Object.fromEntries(url.searchParams));
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new StorageError(400, 'InvalidRequest', ['querystring', ...issue.path.map(String)].join('/') + ` ${issue.message}`, 'Bad Request');
  }
  return result.data;
}
