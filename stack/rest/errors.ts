import type { PlainResponse } from '../gateway.ts';
import type { DatabaseError } from 'pg';

/** The body every Data API error has (contract §4.5). */
export interface RestErrorBody {
  code: string;
  details: unknown;
  hint: string | null;
  message: string;
}

/**
 * A Data API error with PostgREST's status, code and wording. Thrown anywhere in the request pipeline and turned into
 * a response by {@link errorResponse}; thrown inside the transaction it also rolls it back.
 */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown = null,
    readonly hint: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RestError';
  }

  body(): RestErrorBody {
    return { code: this.code, details: this.details, hint: this.hint, message: this.message };
  }
}

/** PGRST100: a query parameter that does not follow the grammar. */
export function parseError(what: string, input: string, column: number, details: string): RestError {
  return new RestError(400, 'PGRST100', `"failed to parse ${what} (${input})" (line 1, column ${column})`, details);
}

/** PGRST205: unknown table or view. */
export function tableNotFound(schema: string, name: string): RestError {
  return new RestError(404, 'PGRST205', `Could not find the table '${schema}.${name}' in the schema cache`);
}

/** 42703 as Postgres words it, raised before any SQL is built because identifiers come only from the schema cache. */
export function columnNotFound(relation: string, column: string): RestError {
  return new RestError(400, '42703', `column ${relation}.${column} does not exist`);
}

/** PGRST204: an unknown column in `columns` or in a write payload. */
export function payloadColumnNotFound(relation: string, column: string): RestError {
  return new RestError(400, 'PGRST204', `Could not find the '${column}' column of '${relation}' in the schema cache`);
}

/** PGRST116: `application/vnd.pgrst.object+json` with a result that is not exactly one row. */
export function singularityError(rows: number): RestError {
  return new RestError(406, 'PGRST116', 'Cannot coerce the result to a single JSON object', `The result contains ${rows} rows`);
}

/** 401 PGRST301/PGRST303 for a bad bearer token, with PostgREST's `WWW-Authenticate` header. */
export function jwtError(reason: string, message: string): RestError {
  const claims = reason === 'expired' || reason === 'not_yet_valid' || reason === 'invalid';
  return new RestError(401, claims ? 'PGRST303' : 'PGRST301', message, null, null, {
    'www-authenticate': `Bearer error="invalid_token", error_description=${JSON.stringify(message)}`,
  });
}

/** PostgREST's `mapSQLtoHTTP` (Error.hs): SQLSTATE → HTTP status. `authed` is "role is not the anon role". */
export function statusForSqlState(code: string, message: string, authed: boolean): number {
  const two = code.slice(0, 2);
  switch (code) {
    case '23503':
    case '23505':
      return 409;
    case '25006':
      return 405;
    case '21000':
      return message.endsWith('requires a WHERE clause') ? 400 : 500;
    case '22023':
      return message.startsWith('role') && message.endsWith('does not exist') ? 401 : 400;
    case '53400':
      return 500;
    case '57P01':
      return 503;
    case 'P0001':
      return 400;
    case '42883':
      return message.startsWith('function xmlagg(') ? 406 : 404;
    case '42P01':
      return 404;
    case '42P17':
      return 500;
    case '42501':
      return authed ? 403 : 401;
  }
  if (two === '08') return 503;
  if (two === '0L' || two === '0P' || two === '28') return 403;
  if (['09', '25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX'].includes(two)) return 500;
  if (two === '53') return 503;
  if (two === 'PT') {
    const n = Number(code.slice(2));
    return Number.isInteger(n) && n >= 100 && n <= 599 ? n : 500;
  }
  return 400;
}

function isDatabaseError(error: unknown): error is DatabaseError {
  return typeof error === 'object' && error !== null && typeof (error as DatabaseError).code === 'string' &&
    (error as { severity?: unknown }).severity !== undefined;
}

/** A Postgres error as PostgREST reports it, including `raise sqlstate 'PGRST'` with JSON message/detail. */
export function fromDatabaseError(error: DatabaseError, authed: boolean): RestError {
  const code = error.code ?? 'XX000';
  if (code === 'PGRST') {
    try {
      const m = JSON.parse(error.message) as Partial<RestErrorBody>;
      const d = JSON.parse(error.detail ?? '{}') as { status?: number; headers?: Record<string, string> };
      if (typeof m.code === 'string' && typeof m.message === 'string' && typeof d.status === 'number') {
        return new RestError(d.status, m.code, m.message, m.details ?? null, m.hint ?? null, d.headers ?? {});
      }
    } catch {
      // fall through to PGRST121
    }
    return new RestError(500, 'PGRST121', 'Could not parse JSON in the "RAISE SQLSTATE \'PGRST\'" error');
  }
  const status = statusForSqlState(code, error.message, authed);
  const headers: Record<string, string> = status === 401 && code === '42501' ? { 'www-authenticate': 'Bearer' } : {};
  return new RestError(status, code, error.message, error.detail ?? null, error.hint ?? null, headers);
}

/** Any thrown value as a RestError; unexpected ones become a generic 500 and are logged by the caller. */
export function toRestError(error: unknown, authed: boolean): RestError | undefined {
  if (error instanceof RestError) return error;
  if (isDatabaseError(error)) return fromDatabaseError(error, authed);
  return undefined;
}

/** The JSON response for an error, with `Proxy-Status` as PostgREST sends it. */
export function errorResponse(error: RestError, method = 'GET'): PlainResponse {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'proxy-status': `PostgREST; error=${error.code}`,
  };
  for (const [name, value] of Object.entries(error.headers)) headers[name.toLowerCase()] = value;
  return { status: error.status, headers, body: method === 'HEAD' ? null : JSON.stringify(error.body()) };
}
