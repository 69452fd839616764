import { ApiError } from './errors.ts';

/** The parts of a supabase-js (PostgREST) error this module reads: its SQLSTATE or `PGRST…` code. */
export interface DatabaseError {
  code: string;
  message: string;
}

/** Per-call replacements for the default answer to a code, e.g. `{ PGRST116: () => notFound(id) }`. */
export type DatabaseErrorOverrides = Partial<Record<string, () => ApiError>>;

/**
 * The answer to a database error, chosen by its code and never by its message text: the caller's override for
 * that code if any, else 23505 → 409 `conflict`, 23503 → 409 `conflict`, 42501 → 403 `forbidden`, PGRST116 and
 * P0002 → 404 `not_found`, 22P02 → 400 `validation_failed`; anything else is a 500 whose cause the error handler
 * logs (the caller sees a generic body).
 */
export function fromDatabaseError(error: DatabaseError, overrides: DatabaseErrorOverrides = {}): ApiError {
  const override = overrides[error.code];
  if (override) return override();
  switch (error.code) {
    case '23505':
    case '23503':
      return new ApiError(409, 'conflict', 'The request conflicts with the current state of the data.', { cause: error });
    case '42501':
      return new ApiError(403, 'forbidden', 'You may not do this.', { cause: error });
    case 'PGRST116':
    case 'P0002':
      return new ApiError(404, 'not_found', 'The resource was not found.', { cause: error });
    case '22P02':
      return new ApiError(400, 'validation_failed', 'The request is invalid.', { cause: error });
    default:
      return new ApiError(500, 'internal_error', 'An unexpected error occurred.', { cause: error });
  }
}

/**
 * The data of a supabase-js result, or its error mapped by {@link fromDatabaseError}:
 * `const doc = unwrap(await supabase.from('documents').select().eq('id', id).single(), { PGRST116: notFound })`.
 */
export function unwrap<R extends DatabaseResult>(result: R, overrides?: DatabaseErrorOverrides): DataOf<R> {
  if (result.error) throw fromDatabaseError(result.error, overrides);
  return result.data as DataOf<R>;
}

/** A supabase-js result: data or an error. */
export interface DatabaseResult {
  data: unknown;
  error: DatabaseError | null;
}

/** The data type of a successful result (supabase-js types results as a union on `error`). */
type DataOf<R extends DatabaseResult> = [Extract<R, { error: null }>] extends [never] ? R['data'] : Extract<R, { error: null }>['data'];
