import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../supabase/functions/_shared/errors.ts';
import { createFunctionApp } from '../../../supabase/functions/_shared/app.ts';
import type { Logger, LogLevel } from '../../../supabase/functions/_shared/log.ts';

function recorder() {
  const lines: Array<{ level: LogLevel; message: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    log: (level, message, fields = {}) => lines.push({ level, message, fields }),
    child: () => logger,
  };
  return { lines, logger };
}

function app(logger = recorder().logger) {
  const app = createFunctionApp({ name: 'demo', description: 'A demo function.', logger });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/items',
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ name: z.string().min(1) }) } } } },
      responses: { 201: { description: 'created', content: { 'application/json': { schema: z.object({ name: z.string() }) } } } },
    }),
    (c) => c.json({ name: c.req.valid('json').name }, 201),
  );
  app.get('/conflict', () => {
    throw new ApiError(409, 'item_exists', 'An item with this name already exists.');
  });
  app.get('/limited', () => {
    throw new ApiError(429, 'rate_limited', 'Too many requests.', { headers: { 'Retry-After': '30' } });
  });
  app.get('/bug', () => {
    throw new Error('secret internal detail');
  });
  return app;
}

describe('createFunctionApp', () => {
  it('renders a thrown ApiError as the one error shape with its status and headers', async () => {
    const conflict = await app().request('/demo/conflict');
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({ error: { code: 'item_exists', message: 'An item with this name already exists.' } });
    const limited = await app().request('/demo/limited');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('30');
  });

  it('returns 400 validation_failed with zod details and without echoing the input', async () => {
    const response = await app().request('/demo/items', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'json.name', code: 'too_small', message: 'Too small: expected string to have >=1 characters' }],
      },
    });
  });

  it('returns 415 unsupported_media_type for a body of an undeclared type', async () => {
    const response = await app().request('/demo/items', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(response.status).toBe(415);
    expect(await response.json()).toEqual({ error: { code: 'unsupported_media_type', message: 'Unsupported Media Type' } });
  });

  it('returns 404 not_found for an unknown route', async () => {
    const response = await app().request('/demo/nope');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: 'No route for GET /demo/nope.' } });
  });

  it('returns a generic 500 for an unexpected error and logs the cause', async () => {
    const { lines, logger } = recorder();
    const response = await app(logger).request('/demo/bug');
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'internal_error', message: 'An unexpected error occurred.' } });
    const logged = lines.find((line) => line.level === 'error');
    expect((logged?.fields.err as { message: string }).message).toBe('secret internal detail');
  });

  it('answers CORS preflights with supabase-js header list', async () => {
    const response = await app().request('/demo/items', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')).toBe('authorization,x-client-info,apikey,content-type,x-retry-count');
    expect(response.headers.get('access-control-allow-methods')).toBe('GET,POST,PUT,PATCH,DELETE,OPTIONS');
  });

  it('lets a browser app read X-Request-Id and Retry-After, and the headers a function adds', async () => {
    const plain = await app().request('/demo/conflict', { headers: { origin: 'http://localhost:3000' } });
    expect(plain.headers.get('access-control-expose-headers')).toBe('x-request-id,retry-after');
    const chat = createFunctionApp({ name: 'chat', description: 'd', exposeHeaders: ['x-chat-id', 'server-timing'] });
    chat.get('/x', (c) => c.text('ok'));
    const response = await chat.request('/chat/x', { headers: { origin: 'http://localhost:3000' } });
    expect(response.headers.get('access-control-expose-headers')).toBe('x-request-id,retry-after,x-chat-id,server-timing');
  });

  it('echoes a well-formed X-Request-Id and logs it with the request', async () => {
    const { lines, logger } = recorder();
    const response = await app(logger).request('/demo/conflict', { headers: { 'x-request-id': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
    expect(lines.find((line) => line.message === 'request')?.fields).toMatchObject({ method: 'GET', path: '/demo/conflict', status: 409 });
  });

  it('replaces a malformed X-Request-Id with a fresh one', async () => {
    const response = await app().request('/demo/conflict', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers GET /<name>/healthz without credentials', async () => {
    const response = await app().request('/demo/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('serves /<name>/openapi.json ahead of a parameter route, listing routes registered after it', async () => {
    const demo = app();
    demo.openapi(
      createRoute({
        method: 'get',
        path: '/{id}',
        request: { params: z.object({ id: z.string() }) },
        responses: { 200: { description: 'one', content: { 'application/json': { schema: z.object({ id: z.string() }) } } } },
      }),
      (c) => c.json({ id: c.req.valid('param').id }, 200),
    );
    const response = await demo.request('/demo/openapi.json');
    expect(response.status).toBe(200);
    const document = await response.json();
    expect(document.info).toEqual({ title: 'edgebrain demo', version: '1.0.0', description: 'A demo function.' });
    expect(Object.keys(document.paths).sort()).toEqual(['/demo/healthz', '/demo/items', '/demo/{id}']);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect((await (await demo.request('/demo/abc')).json())).toEqual({ id: 'abc' });
  });

  it('names the functions base URL relative to the document, right on every host', async () => {
    const document = await (await app().request('/demo/openapi.json')).json();
    expect(document.servers).toEqual([{ url: '/functions/v1', description: "This project's Edge Functions" }]);
    // Swagger UI resolves it against where it fetched the document, then appends the path.
    const url = new URL(`${document.servers[0].url}/demo/items`, 'https://abc.supabase.co/functions/v1/demo/openapi.json');
    expect(url.href).toBe('https://abc.supabase.co/functions/v1/demo/items');
  });
});
