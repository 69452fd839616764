/** One validation problem, as returned in `error.details` (never echoes the input value). */
export interface ErrorDetail {
  path: string;
  code: string;
  message: string;
}

/**
 * The one JSON error shape of every non-2xx response: `{"error":{"code","message","details"?}}`, plus, for a few
 * codes, named facts a client acts on (e.g. `daily_limit_reached` carries `limit` and `resets_at`).
 */
export interface ErrorBody {
  error: { code: string; message: string; details?: ErrorDetail[]; [fact: string]: unknown };
}

/** Options of an {@link ApiError} beyond status, code and message. */
export interface ApiErrorOptions {
  details?: ErrorDetail[];
  /** Response headers such as `WWW-Authenticate` or `Retry-After`. */
  headers?: Record<string, string>;
  /** Facts added to the error object beside code and message (documented per code). */
  facts?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * An expected failure with its exact HTTP status and a stable snake_case code. Handlers throw it; only the
 * central error handler (`http.ts`) turns it into a response.
 */
export class ApiError extends Error {
  readonly details?: ErrorDetail[];
  readonly headers: Record<string, string>;
  readonly facts?: Record<string, unknown>;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ApiError';
    this.details = options.details;
    this.headers = options.headers ?? {};
    this.facts = options.facts;
  }
}

/** Builds the {@link ErrorBody} for a code and message. */
export function errorBody(code: string, message: string, details?: ErrorDetail[], facts?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, ...(details && details.length > 0 ? { details } : {}), ...facts } };
}

/** A generic code per status, for errors raised by the framework itself (e.g. Hono's 415). */
export function codeForStatus(status: number): string {
  const codes: Record<number, string> = {
    400: 'bad_request',
    401: 'unauthenticated',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    409: 'conflict',
    413: 'payload_too_large',
    415: 'unsupported_media_type',
    429: 'rate_limited',
  };
  return codes[status] ?? (status >= 500 ? 'internal_error' : 'bad_request');
}
