import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { isAuthApiError, isAuthRetryableFetchError, type Session, type SupabaseClient } from '@supabase/supabase-js';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ApiError } from '../_shared/errors.ts';
import { type AppEnv, createFunctionApp, toErrorResponse } from '../_shared/app.ts';
import { findNul } from '../_shared/text.ts';
import type { Logger } from '../_shared/log.ts';

/** What the token app needs: a fresh Supabase Auth client per request (it holds no session between calls). */
export interface TokenDeps {
  authClient: () => SupabaseClient['auth'];
  logger?: Logger;
}

/** RFC 6749 §5.2 error codes this endpoint answers with (plus §4.1.2.1's server codes for outages). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * An OAuth 2.0 token-endpoint error. The token endpoint answers in RFC 6749's shape
 * (`{"error","error_description"}`), not the house error shape, because OAuth clients (and Swagger UI) parse it.
 */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: OAuthErrorCode,
    readonly description: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}

/** A form parameter; its error message says why it failed (missing, repeated or otherwise invalid) for the hook. */
const param = () =>
  z.string({ error: (issue) => (issue.input === undefined ? 'missing' : Array.isArray(issue.input) ? 'repeated' : 'invalid') });

export const TokenRequestSchema = z
  .object({
    grant_type: param().openapi({ enum: ['password', 'refresh_token'], example: 'password' }),
    username: param().optional().openapi({ description: 'E-mail address (password grant).', example: 'ada@example.com' }),
    password: param().optional().openapi({ description: 'Password (password grant).', format: 'password' }),
    refresh_token: param().optional().openapi({ description: 'Refresh token from an earlier response (refresh_token grant).' }),
    scope: param().optional().openapi({ description: 'Accepted and ignored: tokens carry the user\'s role, not scopes.' }),
    client_id: param().optional().openapi({ description: 'Accepted and ignored: the endpoint serves public clients.' }),
    client_secret: param().optional().openapi({ description: 'Accepted and ignored: clients are not registered.' }),
  })
  .openapi('TokenRequest');

export const TokenResponseSchema = z
  .object({
    access_token: z.string().openapi({ description: 'The Supabase Auth access token (a JWT).' }),
    token_type: z.literal('bearer'),
    expires_in: z.number().int().openapi({ description: 'Lifetime of the access token in seconds.', example: 3600 }),
    refresh_token: z.string(),
  })
  .openapi('TokenResponse');

export const OAuthErrorSchema = z
  .object({
    error: z.enum(['invalid_request', 'invalid_client', 'invalid_grant', 'unsupported_grant_type', 'temporarily_unavailable', 'server_error']),
    error_description: z.string(),
  })
  .openapi('OAuthError');

const oauthError = (description: string) => ({ description, content: { 'application/json': { schema: OAuthErrorSchema } } });

const tokenRoute = createRoute({
  method: 'post',
  path: '/',
  summary: 'OAuth 2.0 token endpoint (password and refresh_token grants) over Supabase Auth',
  request: {
    body: { required: true, content: { 'application/x-www-form-urlencoded': { schema: TokenRequestSchema } } },
  },
  responses: {
    200: { description: 'Tokens (RFC 6749 §5.1)', content: { 'application/json': { schema: TokenResponseSchema } } },
    400: oauthError('invalid_request, invalid_grant or unsupported_grant_type (RFC 6749 §5.2)'),
    401: oauthError('invalid_client: malformed HTTP Basic client credentials'),
    503: oauthError('temporarily_unavailable: Supabase Auth could not be reached'),
  },
});

const INVALID_CREDENTIALS = 'Invalid username or password.';
const INVALID_REFRESH_TOKEN = 'The refresh token is invalid, expired or already used.';

/**
 * The `token` function: `POST /token` turns a form-encoded password or refresh_token grant (RFC 6749 §4.3, §6)
 * into a Supabase Auth session and answers per RFC 6749 §5.1/§5.2 with `Cache-Control: no-store`.
 * `GET /token/healthz` is a liveness probe; `GET /token/openapi.json` documents the endpoint (with an
 * OAuth2 password flow security scheme, so Swagger UI's Authorize button works).
 */
export function createApp(deps: TokenDeps): OpenAPIHono<AppEnv> {
  // Swagger UI's Authorize sends X-Requested-With, so its preflight must allow it.
  const app = createFunctionApp({
    name: 'token',
    description: 'OAuth 2.0 password grant over Supabase Auth.',
    logger: deps.logger,
    extraCorsHeaders: ['x-requested-with'],
  });

  app.use('*', async (c, next) => {
    await next();
    // RFC 6749 §5.1: responses carrying tokens must not be cached; errors neither.
    c.header('Cache-Control', 'no-store');
    c.header('Pragma', 'no-cache');
  });

  app.onError((error, c) => {
    const oauth = toOAuthError(error, c);
    if (!oauth) return toErrorResponse(error, c);
    if (oauth.status >= 500) c.var.logger.log('error', oauth.description, { error: oauth.error, cause: String(error) });
    return c.json({ error: oauth.error, error_description: oauth.description }, oauth.status as 400, oauth.headers);
  });

  app.openapi(
    tokenRoute,
    async (c) => {
      const form = c.req.valid('form');
      checkClientAuthentication(c.req.header('authorization'), form.client_secret);
      const session =
        form.grant_type === 'password'
          ? await passwordGrant(deps, required(form.username, 'username'), required(form.password, 'password'))
          : form.grant_type === 'refresh_token'
            ? await refreshGrant(deps, required(form.refresh_token, 'refresh_token'))
            : unsupportedGrant();
      return c.json(
        {
          access_token: session.access_token,
          token_type: 'bearer' as const,
          expires_in: session.expires_in,
          refresh_token: session.refresh_token,
        },
        200,
      );
    },
    (result) => {
      if (result.success) {
        // U+0000 cannot reach Supabase Auth's database; refused here rather than as an Auth 500 retried into a 503.
        const nul = findNul(result.data);
        if (nul !== undefined) throw new OAuthError(400, 'invalid_request', `Parameter ${nul.split('.')[0]} is invalid.`);
        return undefined;
      }
      // RFC 6749 §3.2: parameters must not be repeated; report that first, then what is missing.
      const issues = result.error.issues;
      const issue = issues.find((i) => i.message === 'repeated') ?? issues.find((i) => i.message === 'missing') ?? issues[0];
      const name = String(issue?.path[0] ?? 'body');
      if (issue?.message === 'repeated') throw new OAuthError(400, 'invalid_request', `Parameter ${name} must not be repeated.`);
      if (issue?.message === 'missing') throw new OAuthError(400, 'invalid_request', `Missing required parameter: ${name}.`);
      throw new OAuthError(400, 'invalid_request', `Parameter ${name} is invalid.`);
    },
  );

  // The token endpoint only takes POST (RFC 6749 §3.2).
  app.on(['GET', 'PUT', 'PATCH', 'DELETE'], '/', () => {
    throw new ApiError(405, 'method_not_allowed', 'The token endpoint only accepts POST.', { headers: { Allow: 'POST, OPTIONS' } });
  });

  return app;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw new OAuthError(400, 'invalid_request', `Missing required parameter: ${name}.`);
  return value;
}

function unsupportedGrant(): never {
  throw new OAuthError(400, 'unsupported_grant_type', 'Supported grant types are "password" and "refresh_token".');
}

/**
 * Clients are public (RFC 6749 §2.1): `client_id`, `client_secret` and HTTP Basic credentials are accepted and
 * not checked, since Swagger UI and other clients send them even when empty. Malformed Basic credentials are an
 * `invalid_client` (§5.2), and two authentication methods at once an `invalid_request` (§2.3).
 */
function checkClientAuthentication(authorization: string | undefined, clientSecret: string | undefined): void {
  if (!authorization || !/^basic\s/i.test(authorization)) return;
  const challenge = { 'WWW-Authenticate': 'Basic realm="token"' };
  let decoded: string;
  try {
    decoded = atob(authorization.replace(/^basic\s+/i, '').trim());
  } catch {
    throw new OAuthError(401, 'invalid_client', 'Client credentials in the Authorization header are malformed.', challenge);
  }
  if (!decoded.includes(':')) {
    throw new OAuthError(401, 'invalid_client', 'Client credentials in the Authorization header are malformed.', challenge);
  }
  if (clientSecret !== undefined) {
    throw new OAuthError(400, 'invalid_request', 'Use only one client authentication method.');
  }
}

async function passwordGrant(deps: TokenDeps, username: string, password: string): Promise<Session> {
  const credentials = username.includes('@') ? { email: username, password } : { phone: username, password };
  const { data, error } = await deps.authClient().signInWithPassword(credentials);
  if (error) throw fromAuthError(error, INVALID_CREDENTIALS);
  if (!data.session) throw new OAuthError(400, 'invalid_grant', INVALID_CREDENTIALS);
  return data.session;
}

async function refreshGrant(deps: TokenDeps, refreshToken: string): Promise<Session> {
  const { data, error } = await deps.authClient().refreshSession({ refresh_token: refreshToken });
  if (error) throw fromAuthError(error, INVALID_REFRESH_TOKEN);
  if (!data.session) throw new OAuthError(400, 'invalid_grant', INVALID_REFRESH_TOKEN);
  return data.session;
}

/**
 * Maps a Supabase Auth error by its code (never its text). Every credential failure reads the same, so the
 * answer does not reveal whether a user exists; banned and unconfirmed users are told why, after their
 * password was checked (as Supabase Auth itself does).
 */
function fromAuthError(error: unknown, invalidGrantMessage: string): OAuthError | Error {
  if (isAuthRetryableFetchError(error)) {
    return new OAuthError(503, 'temporarily_unavailable', 'Supabase Auth is unavailable; try again.', { 'Retry-After': '5' });
  }
  if (!isAuthApiError(error)) return error instanceof Error ? error : new Error(String(error));
  if (error.status === 429) {
    return new OAuthError(429, 'temporarily_unavailable', 'Too many requests; try again later.', { 'Retry-After': '60' });
  }
  switch (error.code) {
    case 'user_banned':
      return new OAuthError(400, 'invalid_grant', 'The user is banned.');
    case 'email_not_confirmed':
      return new OAuthError(400, 'invalid_grant', 'The e-mail address is not confirmed.');
    case 'invalid_credentials':
    case 'validation_failed':
    case 'phone_provider_disabled':
    case 'email_provider_disabled':
    case 'refresh_token_not_found':
    case 'refresh_token_already_used':
    case 'session_expired':
    case 'session_not_found':
    case 'user_not_found':
      return new OAuthError(400, 'invalid_grant', invalidGrantMessage);
    default:
      // Any other refusal of the grant is the grant's fault (RFC 6749 §5.2): never a 5xx that clients would retry.
      return error.status >= 500
        ? new OAuthError(503, 'temporarily_unavailable', 'Supabase Auth is unavailable; try again.', { 'Retry-After': '5' })
        : new OAuthError(400, 'invalid_grant', invalidGrantMessage);
  }
}

/** The RFC 6749 view of errors raised on the token route, or `undefined` to use the house error shape. */
function toOAuthError(error: unknown, c: Context<AppEnv>): OAuthError | undefined {
  if (error instanceof OAuthError) return error;
  const onTokenRoute = c.req.method === 'POST' && new URL(c.req.url).pathname.replace(/\/$/, '') === '/token';
  if (!onTokenRoute) return undefined;
  if (error instanceof HTTPException && error.status === 415) {
    return new OAuthError(400, 'invalid_request', 'The request body must be application/x-www-form-urlencoded.');
  }
  if (error instanceof HTTPException && error.status === 400) {
    return new OAuthError(400, 'invalid_request', 'The request body is not a valid form.');
  }
  return new OAuthError(500, 'server_error', 'An unexpected error occurred.');
}
