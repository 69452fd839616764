import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { AUTH_PROJECT, callAuth, PASSWORD } from './helpers.ts';

/** A fetch that records every path supabase-js asks for. */
function recordingFetch(): { fetch: typeof fetch; paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    fetch: (input, init) => {
      paths.push(new URL(input instanceof Request ? input.url : String(input)).pathname);
      return fetch(input, init);
    },
  };
}

describe('auth signing with ES256 (JWKS)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT, signing: 'ES256' });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('publishes the public key at /.well-known/jwks.json, cacheable for 10 minutes, without an API key', async () => {
    const res = await callAuth(stack, '/.well-known/jwks.json', { apikey: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=600');
    const { keys } = res.body as { keys: Array<Record<string, unknown>> };
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', kid: stack.jwt.signingKey!.kid, use: 'sig' });
    expect(keys[0]).not.toHaveProperty('d');
  });

  it('signs access tokens with ES256 and kid, verifiable with the published key', async () => {
    const email = uniqueEmail('es');
    const { data } = await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    const token = data.session!.access_token;
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: stack.jwt.signingKey!.kid, typ: 'JWT' });
    const { body } = await callAuth(stack, '/.well-known/jwks.json');
    const jwk = (body as { keys: Array<Record<string, unknown>> }).keys[0];
    const { payload } = await jwtVerify(token, await importJWK(jwk, 'ES256'), { issuer: `${stack.apiUrl}/auth/v1` });
    expect(payload).toMatchObject({ sub: data.user!.id, email, aud: 'authenticated', role: 'authenticated' });
  });

  it('lets getClaims() verify locally through JWKS without calling /user', async () => {
    const recorder = recordingFetch();
    const client = anonClient(stack, recorder.fetch);
    const email = uniqueEmail('claims');
    const { data: signUp } = await client.auth.signUp({ email, password: PASSWORD });
    const { data, error } = await client.auth.getClaims();
    expect(error).toBeNull();
    expect(data!.header).toMatchObject({ alg: 'ES256', kid: stack.jwt.signingKey!.kid });
    expect(data!.claims).toMatchObject({ sub: signUp.user!.id, email, session_id: expect.any(String) });
    expect(recorder.paths).toContain('/auth/v1/.well-known/jwks.json');
    expect(recorder.paths).not.toContain('/auth/v1/user');
  });

  it('still answers GET /user for ES256 tokens', async () => {
    const client = anonClient(stack);
    await client.auth.signUp({ email: uniqueEmail('esuser'), password: PASSWORD });
    const { error } = await client.auth.getUser();
    expect(error).toBeNull();
  });
});

describe('auth signing with HS256 (the CLI default)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: AUTH_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('publishes no keys, and getClaims() falls back to GET /user', async () => {
    const jwks = await callAuth(stack, '/.well-known/jwks.json');
    expect(jwks.body).toEqual({ keys: [] });
    const recorder = recordingFetch();
    const client = anonClient(stack, recorder.fetch);
    await client.auth.signUp({ email: uniqueEmail('hs'), password: PASSWORD });
    const { error } = await client.auth.getClaims();
    expect(error).toBeNull();
    expect(recorder.paths).toContain('/auth/v1/user');
  });
});
