import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../helpers/stack.ts';

// End to end: the product's supabase/ (config.toml, migrations) on the lite stack, the token function in real Deno,
// Supabase Auth behind it, reached through the gateway exactly as an OAuth client would.
let stack: Stack;
let anon: SupabaseClient;
let email: string;
let userId: string;
const password = 'correct-horse-battery-staple';

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  anon = anonClient(stack);
  email = uniqueEmail('token');
  const { data, error } = await serviceClient(stack).auth.admin.createUser({ email, password, email_confirm: true });
  if (error) throw error;
  userId = data.user.id;
});

afterAll(async () => {
  await stack?.stop();
});

const tokenUrl = () => `${stack.apiUrl}/functions/v1/token`;

function postForm(fields: Record<string, string> | URLSearchParams, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(tokenUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields),
  });
}

async function expectOAuthError(response: Response, status: number, body: { error: string; error_description: string }) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(await response.json()).toEqual(body);
}

describe('POST /functions/v1/token (password grant)', () => {
  it('issues a Supabase access token that Supabase Auth accepts for the same user', async () => {
    const response = await postForm({ grant_type: 'password', username: email, password });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('pragma')).toBe('no-cache');
    const body = await response.json();
    expect(Object.keys(body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    expect(body).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(body.refresh_token).toEqual(expect.any(String));

    const { data, error } = await anon.auth.getUser(body.access_token);
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: userId, email });
  });

  it('answers a wrong password with invalid_grant', async () => {
    const response = await postForm({ grant_type: 'password', username: email, password: 'wrong-password' });
    await expectOAuthError(response, 400, { error: 'invalid_grant', error_description: 'Invalid username or password.' });
  });

  it('answers an unknown user exactly like a wrong password', async () => {
    const response = await postForm({ grant_type: 'password', username: uniqueEmail('nobody'), password });
    await expectOAuthError(response, 400, { error: 'invalid_grant', error_description: 'Invalid username or password.' });
  });

  it('answers a missing password with invalid_request naming it', async () => {
    const response = await postForm({ grant_type: 'password', username: email });
    await expectOAuthError(response, 400, { error: 'invalid_request', error_description: 'Missing required parameter: password.' });
  });

  it('answers a missing username with invalid_request naming it', async () => {
    const response = await postForm({ grant_type: 'password', password });
    await expectOAuthError(response, 400, { error: 'invalid_request', error_description: 'Missing required parameter: username.' });
  });

  it('answers a missing grant_type with invalid_request', async () => {
    const response = await postForm({ username: email, password });
    await expectOAuthError(response, 400, { error: 'invalid_request', error_description: 'Missing required parameter: grant_type.' });
  });

  it('answers a repeated parameter with invalid_request (RFC 6749 §3.2)', async () => {
    const form = new URLSearchParams([
      ['grant_type', 'password'],
      ['username', email],
      ['username', 'other@example.com'],
      ['password', password],
    ]);
    const response = await postForm(form);
    await expectOAuthError(response, 400, { error: 'invalid_request', error_description: 'Parameter username must not be repeated.' });
  });

  it('answers an unsupported grant type with unsupported_grant_type', async () => {
    const response = await postForm({ grant_type: 'client_credentials' });
    await expectOAuthError(response, 400, {
      error: 'unsupported_grant_type',
      error_description: 'Supported grant types are "password" and "refresh_token".',
    });
  });

  it('answers a JSON body with invalid_request: the endpoint takes a form', async () => {
    const response = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ grant_type: 'password', username: email, password }),
    });
    await expectOAuthError(response, 400, {
      error: 'invalid_request',
      error_description: 'The request body must be application/x-www-form-urlencoded.',
    });
  });

  it('works like Swagger UI\'s Authorize → password flow: empty Basic client credentials, scope, client_id', async () => {
    const response = await postForm(
      { grant_type: 'password', username: email, password, scope: '', client_id: '' },
      { authorization: `Basic ${btoa(':')}`, 'x-requested-with': 'XMLHttpRequest', origin: 'http://localhost:8080' },
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect((await response.json()).token_type).toBe('bearer');
  });

  it('answers malformed Basic client credentials with 401 invalid_client', async () => {
    const response = await postForm({ grant_type: 'password', username: email, password }, { authorization: 'Basic %%%' });
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="token"');
    await expectOAuthError(response, 401, {
      error: 'invalid_client',
      error_description: 'Client credentials in the Authorization header are malformed.',
    });
  });

  it('answers a browser preflight for the form post, allowing the headers Swagger UI sends', async () => {
    const response = await fetch(tokenUrl(), {
      method: 'OPTIONS',
      headers: {
        origin: 'http://localhost:8080',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type,x-requested-with',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-allow-headers')?.split(',')).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-requested-with']),
    );
  });
});

describe('POST /functions/v1/token (refresh_token grant)', () => {
  it('rotates the refresh token and issues a new access token for the same user', async () => {
    const first = await (await postForm({ grant_type: 'password', username: email, password })).json();
    const response = await postForm({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const second = await response.json();
    expect(second).toMatchObject({ token_type: 'bearer', expires_in: 3600 });
    expect(second.refresh_token).not.toBe(first.refresh_token);
    const { data } = await anon.auth.getUser(second.access_token);
    expect(data.user?.id).toBe(userId);
  });

  it('answers an unknown refresh token with invalid_grant', async () => {
    const response = await postForm({ grant_type: 'refresh_token', refresh_token: 'not-a-refresh-token' });
    await expectOAuthError(response, 400, {
      error: 'invalid_grant',
      error_description: 'The refresh token is invalid, expired or already used.',
    });
  });

  it('answers a missing refresh_token with invalid_request', async () => {
    const response = await postForm({ grant_type: 'refresh_token' });
    await expectOAuthError(response, 400, { error: 'invalid_request', error_description: 'Missing required parameter: refresh_token.' });
  });
});

describe('other routes of the token function', () => {
  it('answers GET /token/healthz', async () => {
    const response = await fetch(`${tokenUrl()}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('answers GET /token with 405 in the house error shape', async () => {
    const response = await fetch(tokenUrl());
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST, OPTIONS');
    expect(await response.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'The token endpoint only accepts POST.' },
    });
  });

  it('publishes an OpenAPI document with the OAuth2 password flow', async () => {
    const response = await fetch(`${tokenUrl()}/openapi.json`);
    expect(response.status).toBe(200);
    const doc = await response.json();
    expect(doc.components.securitySchemes.oauth2.flows.password.tokenUrl).toBe('/functions/v1/token');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/token', '/token/healthz']));
  });
});
