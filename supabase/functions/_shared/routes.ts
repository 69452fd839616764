import { createRoute, type RouteConfig } from '@hono/zod-openapi';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { MiddlewareHandler } from 'hono';
import { type AuthUser, AuthError, bearerToken, type TokenVerifier } from './auth.ts';
import type { Database } from './database.types.ts';
import { ApiError } from './errors.ts';
import { documentedError } from './openapi.ts';

/** A supabase-js client typed by the generated schema (`npm run db:types`). */
export type Client = SupabaseClient<Database>;

/** What routes for signed-in users need: a token verifier and a factory for a client acting as the caller. */
export interface UserRouteDeps {
  verifyToken: TokenVerifier;
  /** A client carrying the caller's access token, so row-level security decides (never the service role). */
  userClient: (accessToken: string) => Client;
}

/** Variables a user route's handler reads: `c.var.user` (the verified caller), `c.var.supabase` (acting as them). */
export interface UserVariables {
  user: AuthUser;
  supabase: Client;
}

/** What system-only routes (worker, webhooks) need: the keys that prove a system caller, and the service client. */
export interface SystemRouteDeps {
  /** Secret keys and the service_role key (`SupabaseConfig.systemKeys`). */
  systemKeys: string[];
  /** The service-role client the handler works with. */
  serviceClient: Client;
  /** When given, a valid user token is told 403 (known, not allowed) rather than 401. */
  verifyToken?: TokenVerifier;
}

/** Variables a system route's handler reads: `c.var.supabase`, the service-role client. */
export interface SystemVariables {
  supabase: Client;
}

type RouteDefinition = Omit<RouteConfig, 'security' | 'middleware'> & { middleware?: readonly MiddlewareHandler[] };
type Middleware<C extends RouteDefinition> = C['middleware'] extends readonly MiddlewareHandler[] ? C['middleware'] : [];

/** The route {@link userRoute} or {@link systemRoute} returns: the definition plus security, auth and its errors. */
type GuardedRoute<C extends RouteDefinition, V extends object, Errors extends object> = Omit<C, 'middleware' | 'responses'> & {
  security: Array<Record<string, string[]>>;
  middleware: [...Middleware<C>, MiddlewareHandler<{ Variables: V }>];
  responses: C['responses'] & Errors;
};

const unauthenticated = documentedError('missing_authorization, invalid_auth_scheme, invalid_token or token_expired');

/**
 * Verifies the caller's bearer token and sets `c.var.user` and `c.var.supabase` (a client acting as the caller,
 * built once per request).
 */
export function userAuth(deps: UserRouteDeps): MiddlewareHandler<{ Variables: UserVariables }> {
  return async (c, next) => {
    const token = bearerToken(c.req.header('authorization'));
    c.set('user', await deps.verifyToken(token));
    c.set('supabase', deps.userClient(token));
    await next();
  };
}

/**
 * A route for signed-in users: `createRoute(config)` plus the `bearer` security requirement, {@link userAuth}
 * after the route's own middleware, and the 401 it may answer — so the handler only reads `c.var.user` and
 * `c.var.supabase`.
 */
export function userRoute<const C extends RouteDefinition>(deps: UserRouteDeps, config: C) {
  return guardedRoute(config, userAuth(deps), { 401: unauthenticated }, USER_SECURITY);
}

const systemErrors = {
  401: documentedError('missing_authorization or invalid_credentials: no secret or service_role key'),
  403: documentedError('system_only: a user token cannot call this route'),
};

/**
 * Admits only system callers: the `apikey` header or the bearer token must be one of `deps.systemKeys` (the
 * project's secret keys or its service_role key). No credentials → 401 `missing_authorization`; a user's valid
 * access token → 403 `system_only`; anything else → 401 `invalid_credentials`. Sets `c.var.supabase` to the
 * service client.
 */
export function systemAuth(deps: SystemRouteDeps): MiddlewareHandler<{ Variables: SystemVariables }> {
  const keys = deps.systemKeys.filter((key) => key !== '').map((key) => new TextEncoder().encode(key));
  const isSystemKey = (value: string | undefined) => {
    if (!value) return false;
    const bytes = new TextEncoder().encode(value);
    return keys.some((key) => constantTimeEqual(key, bytes));
  };
  return async (c, next) => {
    const apikey = c.req.header('apikey');
    const authorization = c.req.header('authorization');
    const bearer = authorization ? /^bearer\s+(\S+)$/i.exec(authorization.trim())?.[1] : undefined;
    if (!isSystemKey(apikey) && !isSystemKey(bearer)) {
      if (!apikey && !authorization) throw new AuthError('missing_authorization', 'Authorization header is required.');
      if (bearer && deps.verifyToken && (await deps.verifyToken(bearer).then(() => true, () => false))) {
        throw new ApiError(403, 'system_only', 'Only the system may call this endpoint.');
      }
      throw new ApiError(401, 'invalid_credentials', 'A secret or service_role key is required.', {
        headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' },
      });
    }
    c.set('supabase', deps.serviceClient);
    await next();
  };
}

/** A system-only route: `createRoute(config)` plus {@link systemAuth} and the 401/403 it may answer. */
export function systemRoute<const C extends RouteDefinition>(deps: SystemRouteDeps, config: C) {
  return guardedRoute(config, systemAuth(deps), systemErrors, SYSTEM_SECURITY);
}

/**
 * A user's access token, however they got it: pasted (`bearer`) or through the OAuth2 password flow (`oauth2`,
 * the `token` function), which is how Swagger UI's Authorize signs in. System routes take a key, never a login.
 */
const USER_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { oauth2: [] }];
const SYSTEM_SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }];

/** `createRoute(config)` with its security requirement, `guard` after the route's own middleware, and its errors. */
function guardedRoute<C extends RouteDefinition, V extends object, Errors extends object>(
  config: C,
  guard: MiddlewareHandler<{ Variables: V }>,
  errors: Errors,
  security: Array<Record<string, string[]>>,
) {
  return createRoute({
    ...config,
    security,
    middleware: [...(config.middleware ?? []), guard],
    responses: { ...config.responses, ...errors },
  } as unknown as GuardedRoute<C, V, Errors>);
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}
