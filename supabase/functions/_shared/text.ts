import { ApiError, type ErrorDetail } from './errors.ts';

/** Why a value was refused, as the detail message (the value itself is never echoed). */
export const NUL_MESSAGE = 'Must not contain the NUL character (\\u0000).';

/**
 * The path (`messages.0.content`) of the first string or object key in a parsed input that holds U+0000, or
 * `undefined`. Postgres cannot store U+0000 in `text` or `jsonb`, so such input fails only when it reaches the
 * database, as a 500 (or a 5xx that clients retry) instead of the 400 it is.
 */
export function findNul(value: unknown, path: string[] = []): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path.join('.') : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], [...path, String(i)]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\u0000')) return [...path, key.replaceAll('\u0000', '\\u0000')].join('.');
      const found = findNul(item, [...path, key]);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The validation detail for U+0000 found in `value` (validated input of `target`: json, query, form, param). */
export function nulDetail(value: unknown, target?: string): ErrorDetail | undefined {
  const found = findNul(value);
  if (found === undefined) return undefined;
  return { path: [target, found].filter(Boolean).join('.'), code: 'invalid_string', message: NUL_MESSAGE };
}

/**
 * Throws 400 `validation_failed` (the kit's validation error) when validated input holds U+0000, before any
 * handler or database call sees it. {@link createFunctionApp} runs it on every zod-validated target.
 */
export function mustNotContainNul(value: unknown, target?: string): void {
  const detail = nulDetail(value, target);
  if (detail) throw new ApiError(400, 'validation_failed', 'The request is invalid.', { details: [detail] });
}
