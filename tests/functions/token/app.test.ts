import { AuthApiError } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../../supabase/functions/token/app.ts';

// The token app in process with a stand-in for Supabase Auth: the RFC 6749 request and error handling.
// token.test.ts runs it in real Deno against the lite stack's Auth.
const session = { access_token: 'access', refresh_token: 'refresh', expires_in: 3600, token_type: 'bearer' };

function app() {
  const calls: string[] = [];
  const auth = {
    async signInWithPassword(credentials: { email?: string; password: string }) {
      calls.push(`password:${credentials.email}`);
      if (credentials.password === 'right') return { data: { session }, error: null };
      return { data: { session: null }, error: new AuthApiError('Invalid login credentials', 400, 'invalid_credentials') };
    },
    async refreshSession({ refresh_token }: { refresh_token: string }) {
      calls.push(`refresh:${refresh_token}`);
      return { data: { session: null }, error: new AuthApiError('Invalid Refresh Token', 400, 'refresh_token_not_found') };
    },
  };
  return { app: createApp({ authClient: () => auth as never, logger: { log() {}, child() { return this; } } }), calls };
}

const post = (body: string, headers: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body,
});

describe('token app (in process)', () => {
  it('answers a password grant with RFC 6749 tokens and no-store', async () => {
    const { app: token, calls } = app();
    const response = await token.request('/token', post('grant_type=password&username=ada%40example.com&password=right'));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.json()).toEqual({ access_token: 'access', token_type: 'bearer', expires_in: 3600, refresh_token: 'refresh' });
    expect(calls).toEqual(['password:ada@example.com']);
  });

  it('answers invalid_grant for wrong credentials and an unknown refresh token, without saying which', async () => {
    const { app: token } = app();
    const wrong = await token.request('/token', post('grant_type=password&username=ada%40example.com&password=wrong'));
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid username or password.' });
    const stale = await token.request('/token', post('grant_type=refresh_token&refresh_token=old'));
    expect(await stale.json()).toEqual({ error: 'invalid_grant', error_description: 'The refresh token is invalid, expired or already used.' });
  });

  it('answers invalid_request for a missing or repeated parameter and unsupported_grant_type, calling Auth never', async () => {
    const { app: token, calls } = app();
    expect(await (await token.request('/token', post('username=a&password=b'))).json()).toEqual({
      error: 'invalid_request',
      error_description: 'Missing required parameter: grant_type.',
    });
    expect(await (await token.request('/token', post('grant_type=password&grant_type=password'))).json()).toEqual({
      error: 'invalid_request',
      error_description: 'Parameter grant_type must not be repeated.',
    });
    expect(await (await token.request('/token', post('grant_type=client_credentials'))).json()).toEqual({
      error: 'unsupported_grant_type',
      error_description: 'Supported grant types are "password" and "refresh_token".',
    });
    expect(calls).toEqual([]);
  });

  it('documents the OAuth2 password flow for Swagger UI', async () => {
    const document = await (await app().app.request('/token/openapi.json')).json();
    expect(document.components.securitySchemes.oauth2).toEqual({
      type: 'oauth2',
      description: 'Sign in with your e-mail address and password (the `token` function, RFC 6749 password grant).',
      flows: { password: { tokenUrl: '/functions/v1/token', refreshUrl: '/functions/v1/token', scopes: {} } },
    });
  });
});
