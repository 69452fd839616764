import { z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createFunctionApp } from '../../../supabase/functions/_shared/app.ts';
import { type AuthUser, AuthError, type TokenVerifier } from '../../../supabase/functions/_shared/auth.ts';
import { type Client, systemRoute, userRoute } from '../../../supabase/functions/_shared/routes.ts';

// The route helpers' wiring: which callers reach a handler, what the handler sees, what the others are told.
// Token verification itself is tested in auth.test.ts; here a verifier that knows one token stands in for it.
const USER: AuthUser = { id: '6f1d2a7c-2b1e-4c55-9a43-0c8f1f1b2d3e', email: 'ada@example.com', role: 'authenticated', claims: {} as never };
const verifyToken: TokenVerifier = async (token) => {
  if (token === 'good-user-token') return USER;
  throw new AuthError('invalid_token', 'Token is malformed.');
};
const clientFor = (label: string) => ({ label }) as unknown as Client;
const quiet = { log() {}, child() { return quiet; } };
const Caller = z.object({ user: z.string().optional(), client: z.string() });

function app() {
  const app = createFunctionApp({ name: 'probe', description: 'Probe.', logger: quiet });
  const userDeps = { verifyToken, userClient: (token: string) => clientFor(`user:${token}`) };
  const systemDeps = { systemKeys: ['sb_secret_abc', 'service-role-jwt'], serviceClient: clientFor('service'), verifyToken };
  app.openapi(
    userRoute(userDeps, { method: 'get', path: '/me', responses: { 200: { description: 'caller', content: { 'application/json': { schema: Caller } } } } }),
    (c) => c.json({ user: c.var.user.id, client: (c.var.supabase as unknown as { label: string }).label }, 200),
  );
  app.openapi(
    systemRoute(systemDeps, { method: 'post', path: '/tick', responses: { 200: { description: 'done', content: { 'application/json': { schema: Caller } } } } }),
    (c) => c.json({ client: (c.var.supabase as unknown as { label: string }).label }, 200),
  );
  return app;
}

describe('userRoute', () => {
  it('gives the handler the verified user and a client built with their token', async () => {
    const response = await app().request('/probe/me', { headers: { authorization: 'Bearer good-user-token' } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ user: USER.id, client: 'user:good-user-token' });
  });

  it('accepts the scheme name case-insensitively (RFC 6750 §2.1)', async () => {
    const response = await app().request('/probe/me', { headers: { authorization: 'bearer good-user-token' } });
    expect(response.status).toBe(200);
  });

  it('returns 401 missing_authorization with a bare Bearer challenge when there is no Authorization header', async () => {
    const response = await app().request('/probe/me');
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(await response.json()).toEqual({ error: { code: 'missing_authorization', message: 'Authorization header is required.' } });
  });

  it('returns 401 invalid_auth_scheme when the scheme is not Bearer', async () => {
    const response = await app().request('/probe/me', { headers: { authorization: 'Basic YWRhOnB3' } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'invalid_auth_scheme', message: 'Token must be Bearer.' } });
  });

  it("returns the verifier's 401 with its invalid_token challenge", async () => {
    const response = await app().request('/probe/me', { headers: { authorization: 'Bearer forged' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer error="invalid_token", error_description="Token is malformed."');
    expect(await response.json()).toEqual({ error: { code: 'invalid_token', message: 'Token is malformed.' } });
  });

  it('documents the bearer (or OAuth2 password flow) requirement and the 401 on the route', async () => {
    const document = await (await app().request('/probe/openapi.json')).json();
    expect(document.paths['/probe/me'].get.security).toEqual([{ bearer: [] }, { oauth2: [] }]);
    expect(document.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe('/functions/v1/token');
    expect(Object.keys(document.paths['/probe/me'].get.responses).sort()).toEqual(['200', '401']);
  });
});

describe('systemRoute', () => {
  it.each([
    ['the secret key as apikey', { apikey: 'sb_secret_abc' }],
    ['the secret key as bearer token', { authorization: 'Bearer sb_secret_abc' }],
    ['the service_role key as bearer token', { authorization: 'Bearer service-role-jwt' }],
  ])('admits a caller with %s and gives it the service client', async (_case, headers) => {
    const response = await app().request('/probe/tick', { method: 'POST', headers });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ client: 'service' });
  });

  it('returns 401 missing_authorization without credentials', async () => {
    const response = await app().request('/probe/tick', { method: 'POST' });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'missing_authorization', message: 'Authorization header is required.' } });
  });

  it("returns 403 system_only for a signed-in user's valid token", async () => {
    const response = await app().request('/probe/tick', { method: 'POST', headers: { authorization: 'Bearer good-user-token' } });
    expect(response.status).toBe(403);
    expect(await response.json()).toEqual({ error: { code: 'system_only', message: 'Only the system may call this endpoint.' } });
  });

  it.each([
    ['an unknown key', { apikey: 'sb_secret_abd' }],
    ['a key one character short', { authorization: 'Bearer sb_secret_ab' }],
    ['the publishable key', { apikey: 'sb_publishable_xyz' }],
  ])('returns 401 invalid_credentials for %s', async (_case, headers) => {
    const response = await app().request('/probe/tick', { method: 'POST', headers });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'invalid_credentials', message: 'A secret or service_role key is required.' } });
  });
});
