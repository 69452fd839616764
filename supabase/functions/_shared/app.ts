import { createRoute, OpenAPIHono } from '@hono/zod-openapi';
import type { Context, Env, MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ApiError, codeForStatus, type ErrorDetail, errorBody } from './errors.ts';
import { createLogger, errorFields, type Logger } from './log.ts';
import { HealthSchema } from './openapi.ts';
import { mustNotContainNul } from './text.ts';

/** The request headers supabase-js sends to functions (its `corsHeaders` list). */
export const CORS_ALLOW_HEADERS = ['authorization', 'x-client-info', 'apikey', 'content-type', 'x-retry-count'];
/** Methods allowed cross-origin (supabase-js's list). */
export const CORS_ALLOW_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Where the functions are served, relative to the OpenAPI document (`…/functions/v1/<name>/openapi.json`), so the
 * same document is right on hosted Supabase, `supabase start` and the lite stack, and Swagger UI's "Try it out"
 * calls the host the document came from.
 */
export const FUNCTIONS_SERVER = { url: '/functions/v1', description: "This project's Edge Functions" };

/** Per-request values every app sets: `c.var.requestId`, `c.var.logger`. */
export interface BaseVariables {
  requestId: string;
  logger: Logger;
}

/** Hono env of an app built with {@link createFunctionApp}; route middleware adds its own variables. */
export interface AppEnv extends Env {
  Variables: BaseVariables;
}

/** Options of {@link createFunctionApp}. */
export interface FunctionAppOptions {
  /** The function's name: Supabase routes `/functions/v1/<name>/…` to the function as `/<name>/…`. */
  name: string;
  /** One sentence for the OpenAPI document: what the function does. */
  description: string;
  logger?: Logger;
  /** Request headers to allow cross-origin besides supabase-js's list. */
  extraCorsHeaders?: string[];
  /** Response headers a browser app may read besides `X-Request-Id` and `Retry-After` (e.g. chat's `X-Chat-Id`). */
  exposeHeaders?: string[];
  /** Security schemes besides `bearer` (e.g. the token function's OAuth2 password flow). */
  securitySchemes?: Record<string, Record<string, unknown>>;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** zod issues as {@link ErrorDetail}s: the path and zod's message, never the rejected value. */
export function validationDetails(error: ZodError, prefix?: string): ErrorDetail[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter(Boolean).join('.'),
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * Turns any thrown value into the one error response: {@link ApiError} as it says, Hono's own `HTTPException`s
 * with a generic code for their status, anything else a 500 with a generic body and the cause logged.
 */
export function toErrorResponse(error: unknown, c: Context<AppEnv>): Response {
  const logger = c.get('logger') ?? createLogger();
  if (error instanceof ApiError) {
    if (error.status >= 500) logger.log('error', error.message, { code: error.code, ...errorFields(error.cause ?? error) });
    return c.json(errorBody(error.code, error.message, error.details, error.facts), error.status as 400, error.headers);
  }
  if (error instanceof HTTPException && error.status < 500) {
    return c.json(errorBody(codeForStatus(error.status), error.message || 'Bad request'), error.status);
  }
  logger.log('error', 'unhandled error', errorFields(error));
  return c.json(errorBody('internal_error', 'An unexpected error occurred.'), 500);
}

/**
 * A function's Hono app (`@hono/zod-openapi`) under `/<name>`, with what every function needs written once:
 * a request id (`X-Request-Id`, taken from the caller when well-formed), a structured access log, CORS as
 * supabase-js expects it (preflights answered here; the platform does not), zod validation failures — and
 * validated input holding U+0000, which Postgres cannot store — as 400 `validation_failed` with details,
 * 404 `not_found` for unknown routes, the central error handler, `GET /<name>/healthz`, and
 * `GET /<name>/openapi.json` (registered before the function's own routes, so a `/{id}` route never takes it
 * for an id; built per request, so it lists every route registered later) with the `bearer` security scheme
 * and a `servers` entry.
 */
export function createFunctionApp(options: FunctionAppOptions): OpenAPIHono<AppEnv> {
  const basePath = `/${options.name}`;
  const baseLogger = options.logger ?? createLogger({ function: options.name });
  const root = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(400, 'validation_failed', 'The request is invalid.', {
          details: validationDetails(result.error, result.target),
        });
      }
      // Valid by its schema is not yet storable: Postgres refuses U+0000 in text and jsonb.
      mustNotContainNul(result.data, result.target);
      return undefined;
    },
  });

  root.use('*', requestContext(baseLogger));
  root.use(
    '*',
    cors({
      origin: '*',
      allowHeaders: [...CORS_ALLOW_HEADERS, ...(options.extraCorsHeaders ?? [])],
      allowMethods: CORS_ALLOW_METHODS,
      // Retry-After: a browser app can only say when to try again (a 429) if it may read it.
      exposeHeaders: ['x-request-id', 'retry-after', ...(options.exposeHeaders ?? [])],
      maxAge: 86400,
    }),
  );
  const app = root.basePath(basePath) as unknown as OpenAPIHono<AppEnv>;
  for (const target of [root, app]) {
    target.notFound((c) => c.json(errorBody('not_found', `No route for ${c.req.method} ${new URL(c.req.url).pathname}.`), 404));
    target.onError((error, c) => toErrorResponse(error, c));
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      summary: 'Liveness; touches neither Auth nor the database',
      responses: { 200: { description: 'The function is up', content: { 'application/json': { schema: HealthSchema } } } },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  );
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: "A Supabase Auth access token (the user's session `access_token`).",
  });
  // The `token` function's password grant, so Swagger UI's Authorize can sign in with an e-mail and password.
  // Relative URLs: a docs page resolves them against the document's own address (see `servers`).
  app.openAPIRegistry.registerComponent('securitySchemes', 'oauth2', {
    type: 'oauth2',
    description: 'Sign in with your e-mail address and password (the `token` function, RFC 6749 password grant).',
    flows: { password: { tokenUrl: '/functions/v1/token', refreshUrl: '/functions/v1/token', scopes: {} } },
  });
  for (const [name, scheme] of Object.entries(options.securitySchemes ?? {})) {
    app.openAPIRegistry.registerComponent('securitySchemes', name, scheme as never);
  }
  app.doc('/openapi.json', {
    openapi: '3.1.0',
    info: { title: `edgebrain ${options.name}`, version: '1.0.0', description: options.description },
    servers: [FUNCTIONS_SERVER],
  });
  return app;
}

/** Sets `c.var.requestId` and `c.var.logger`, echoes `X-Request-Id`, and logs one line per request. */
function requestContext(baseLogger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    const logger = baseLogger.child({ request_id: requestId });
    c.set('requestId', requestId);
    c.set('logger', logger);
    const started = performance.now();
    await next();
    c.header('x-request-id', requestId);
    logger.log('info', 'request', {
      method: c.req.method,
      path: new URL(c.req.url).pathname,
      status: c.res.status,
      duration_ms: Math.round(performance.now() - started),
    });
  };
}
