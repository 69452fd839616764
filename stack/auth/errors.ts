/**
 * GoTrue's error vocabulary and its two wire shapes (contract §2.1): the 2024-01-01 shape `{code, message}` for
 * clients that send `X-Supabase-Api-Version: 2024-01-01` or later (auth-js always does), and the legacy shape
 * `{code: <status>, error_code, msg}` for everyone else. Every error also carries the `x-sb-error-code` header.
 */

/**
 * The error codes this Auth API emits: a closed subset of GoTrue's `apierrors/errorcode.go`, plus `not_found` for an
 * unknown route (GoTrue answers those with a plain-text 404 that supabase-js cannot parse).
 */
export type AuthErrorCode =
  | 'anonymous_provider_disabled'
  | 'bad_code_verifier'
  | 'bad_json'
  | 'bad_jwt'
  | 'conflict'
  | 'email_exists'
  | 'email_not_confirmed'
  | 'email_provider_disabled'
  | 'flow_state_expired'
  | 'flow_state_not_found'
  | 'invalid_credentials'
  | 'no_authorization'
  | 'not_admin'
  | 'not_found'
  | 'otp_disabled'
  | 'otp_expired'
  | 'over_email_send_rate_limit'
  | 'over_request_rate_limit'
  | 'phone_exists'
  | 'phone_provider_disabled'
  | 'reauthentication_needed'
  | 'reauthentication_not_valid'
  | 'refresh_token_already_used'
  | 'refresh_token_not_found'
  | 'request_entity_too_large'
  | 'same_password'
  | 'session_expired'
  | 'session_not_found'
  | 'signup_disabled'
  | 'unexpected_failure'
  | 'user_already_exists'
  | 'user_banned'
  | 'user_not_found'
  | 'validation_failed'
  | 'weak_password';

/** The first API version whose error bodies use `{code, message}`. */
export const API_VERSION_2024_01_01 = '2024-01-01';
const API_VERSION_HEADER = 'X-Supabase-Api-Version';

/** An API failure with GoTrue's status, code and message. Handlers throw it; {@link errorResponse} renders it. */
export class AuthError extends Error {
  constructor(
    readonly status: number,
    readonly code: AuthErrorCode,
    message: string,
    /** Extra response headers, e.g. `Retry-After` on a 429. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'AuthError';
  }
}

/** Postgres refuses text it cannot store (`22021` invalid byte sequence, e.g. a NUL; `22P05` untranslatable). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** 422 `weak_password`, whose body also lists why (`length`, `characters`, `pwned`). */
export class WeakPasswordError extends AuthError {
  constructor(
    message: string,
    readonly reasons: string[],
  ) {
    super(422, 'weak_password', message);
    this.name = 'WeakPasswordError';
  }
}

/** An RFC 6749 error (`{error, error_description}`, always 400), which GoTrue uses for a few token-grant failures. */
export class OAuthError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(`${error}: ${description}`);
    this.name = 'OAuthError';
  }
}

/** True when the request asked for the 2024-01-01 error shape (an unparsable version means the initial one). */
export function wantsNewErrorShape(version: string | null | undefined): boolean {
  if (!version || !/^\d{4}-\d{2}-\d{2}$/.test(version)) return false;
  const parsed = Date.parse(`${version}T00:00:00Z`);
  return Number.isFinite(parsed) && parsed >= Date.parse(`${API_VERSION_2024_01_01}T00:00:00Z`);
}

function json(status: number, body: unknown, headers: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/**
 * Renders any thrown value as GoTrue would. Unknown errors become a generic 500 `unexpected_failure`
 * (the cause goes to `log`, never to the client).
 */
export function errorResponse(error: unknown, apiVersion: string | null | undefined, log: (line: string) => void): Response {
  if (error instanceof OAuthError) {
    return json(400, { error: error.error, error_description: error.description }, {});
  }
  const pgCode = (error as { code?: unknown } | null)?.code;
  const known =
    error instanceof AuthError
      ? error
      : typeof pgCode === 'string' && UNSTORABLE_TEXT.has(pgCode)
        ? new AuthError(400, 'validation_failed', 'Request contains text that cannot be stored (such as a NUL character)')
        : new AuthError(500, 'unexpected_failure', 'Unexpected failure, please check server logs for more information');
  if (known.status >= 500) log(`auth: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);

  const headers: Record<string, string> = { ...known.headers, 'x-sb-error-code': known.code };
  // The unread rest of an oversized body makes the connection unusable; say so, as Go's server does.
  if (known.status === 413) headers.connection = 'close';
  const extra = known instanceof WeakPasswordError ? { weak_password: { reasons: known.reasons } } : {};
  if (wantsNewErrorShape(apiVersion)) {
    headers[API_VERSION_HEADER] = API_VERSION_2024_01_01;
    return json(known.status, { code: known.code, message: known.message, ...extra }, headers);
  }
  const legacy: Record<string, unknown> = { code: known.status, error_code: known.code, msg: known.message, ...extra };
  if (known.status >= 500) legacy.error_id = crypto.randomUUID();
  return json(known.status, legacy, headers);
}
