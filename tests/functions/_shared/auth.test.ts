import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  type CryptoKey,
  SignJWT,
  base64url,
} from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AuthError, createTokenVerifier, type TokenVerifier } from '../../../supabase/functions/_shared/auth.ts';
import { DEFAULT_ANON_KEY, DEFAULT_SERVICE_ROLE_KEY } from '../../../stack/defaults.ts';

const URL_ = 'http://127.0.0.1:54321';
const ISSUER = `${URL_}/auth/v1`;
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
const USER_ID = '6f1d2a7c-2b1e-4c55-9a43-0c8f1f1b2d3e';

let es: { privateKey: CryptoKey; publicJwk: JWK };
let rs: { privateKey: CryptoKey; publicJwk: JWK };
let stranger: { privateKey: CryptoKey };
let jwksFetches = 0;

async function keyPair(alg: 'ES256' | 'RS256', kid: string) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

beforeAll(async () => {
  es = await keyPair('ES256', 'es-key-1');
  rs = await keyPair('RS256', 'rs-key-1');
  stranger = await keyPair('ES256', 'es-key-1');
});

afterEach(() => {
  vi.useRealTimers();
});

/** A fake of the Auth JWKS endpoint (its real wire format: `{"keys":[…]}` at /auth/v1/.well-known/jwks.json). */
const jwksFetch = (async (input: RequestInfo | URL) => {
  const url = new URL(input instanceof Request ? input.url : input.toString());
  if (url.pathname !== '/auth/v1/.well-known/jwks.json') return new Response('not found', { status: 404 });
  jwksFetches++;
  return Response.json({ keys: [es.publicJwk, rs.publicJwk] });
}) as typeof fetch;

function verifier(overrides: { jwtSecret?: string | null; fetch?: typeof fetch } = {}): TokenVerifier {
  return createTokenVerifier({
    config: { url: URL_, issuer: ISSUER, jwtSecret: overrides.jwtSecret === null ? undefined : (overrides.jwtSecret ?? SECRET) },
    fetch: overrides.fetch ?? jwksFetch,
  });
}

const now = () => Math.floor(Date.now() / 1000);

function claims(overrides: JWTPayload = {}): JWTPayload {
  return {
    iss: ISSUER,
    sub: USER_ID,
    aud: 'authenticated',
    role: 'authenticated',
    email: 'ada@example.com',
    iat: now(),
    exp: now() + 3600,
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    ...overrides,
  };
}

const hs256 = (payload: JWTPayload, secret = SECRET) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(secret));
const es256 = (payload: JWTPayload, kid: string | null = 'es-key-1', key = es.privateKey) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT', ...(kid ? { kid } : {}) }).sign(key);
const rs256 = (payload: JWTPayload) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'rs-key-1' }).sign(rs.privateKey);

/** Hand-built token with any header and signature bytes (for attacks jose refuses to produce). */
function rawToken(header: object, payload: JWTPayload, signature = ''): string {
  const enc = (o: object) => base64url.encode(JSON.stringify(o));
  return `${enc(header)}.${enc(payload)}.${signature}`;
}

async function hmac(data: string, key: Uint8Array): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey('raw', key as BufferSource, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return base64url.encode(new Uint8Array(await crypto.subtle.sign('HMAC', cryptoKey, new TextEncoder().encode(data))));
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    const e = error as AuthError;
    return { code: e.code, message: e.message, status: e.status };
  }
  throw new Error('expected a rejection');
}

describe('createTokenVerifier: accepted tokens', () => {
  it('accepts an ES256 token whose kid is in the JWKS and returns the user', async () => {
    const user = await verifier()(await es256(claims()));
    expect(user).toMatchObject({ id: USER_ID, email: 'ada@example.com', role: 'authenticated' });
    expect(user.claims.aud).toBe('authenticated');
  });

  it('accepts an RS256 token whose kid is in the JWKS', async () => {
    expect((await verifier()(await rs256(claims()))).id).toBe(USER_ID);
  });

  it('accepts an HS256 token signed with the configured legacy secret', async () => {
    expect((await verifier()(await hs256(claims()))).id).toBe(USER_ID);
  });

  it('uses static signing keys when SUPABASE_JWKS is provided, without fetching', async () => {
    const fetchSpy = vi.fn(jwksFetch);
    const verify = createTokenVerifier({
      config: { url: URL_, issuer: ISSUER, jwks: { keys: [es.publicJwk as JWK & { kty: string }] } },
      fetch: fetchSpy as unknown as typeof fetch,
    });
    expect((await verify(await es256(claims()))).id).toBe(USER_ID);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('fetches the JWKS once and caches it across verifications', async () => {
    const before = jwksFetches;
    const verify = verifier();
    await verify(await es256(claims()));
    await verify(await rs256(claims()));
    await verify(await es256(claims()));
    expect(jwksFetches - before).toBe(1);
  });

  it('reports an empty email as undefined (phone users)', async () => {
    expect((await verifier()(await hs256(claims({ email: '' })))).email).toBeUndefined();
  });

  it('accepts a token that expired within the 10 s leeway', async () => {
    vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z'), toFake: ['Date'] });
    const token = await hs256(claims({ iat: now() - 3600, exp: now() - 5 }));
    expect((await verifier()(token)).id).toBe(USER_ID);
  });
});

describe('createTokenVerifier: rejected tokens', () => {
  const cases: Array<[string, () => Promise<string>, string, string]> = [
    ['expired beyond the leeway', () => hs256(claims({ iat: now() - 7200, exp: now() - 60 })), 'token_expired', 'Token has expired.'],
    ['not valid yet (nbf in the future)', () => hs256(claims({ nbf: now() + 600 })), 'invalid_token', 'Token is not valid yet ("nbf" is in the future).'],
    ['from another issuer', () => hs256(claims({ iss: 'https://evil.example/auth/v1' })), 'invalid_token', 'Token "iss" claim is not this project\'s Auth issuer.'],
    ['for another audience', () => hs256(claims({ aud: 'admin' })), 'invalid_token', 'Token "aud" claim must be "authenticated".'],
    ['without an audience', () => hs256(claims({ aud: undefined })), 'invalid_token', 'Token "aud" claim must be "authenticated".'],
    ['without exp', () => hs256(claims({ exp: undefined })), 'invalid_token', 'Token "exp" claim is missing or invalid.'],
    ['with role anon', () => hs256(claims({ role: 'anon' })), 'invalid_token', 'Token "role" claim must be "authenticated".'],
    ['with role service_role', () => hs256(claims({ role: 'service_role' })), 'invalid_token', 'Token "role" claim must be "authenticated".'],
    ['with a sub that is not a UUID', () => hs256(claims({ sub: 'admin' })), 'invalid_token', 'Token "sub" claim must be a user id (UUID).'],
    ['signed with another secret', () => hs256(claims(), 'another-secret-another-secret-another'), 'invalid_token', 'Token signature is invalid.'],
    ['signed with another ES256 key under a known kid', () => es256(claims(), 'es-key-1', stranger.privateKey), 'invalid_token', 'Token signature is invalid.'],
    ['with an unknown kid', () => es256(claims(), 'rotated-away'), 'invalid_token', 'Token "kid" does not match any of the project\'s signing keys.'],
    ['ES256 without a kid', () => es256(claims(), null), 'invalid_token', 'Token header has no "kid".'],
    ['that is not a JWT', async () => 'not-a-jwt', 'invalid_token', 'Token is malformed.'],
    ['with only two parts', async () => (await hs256(claims())).split('.').slice(0, 2).join('.'), 'invalid_token', 'Token is malformed.'],
  ];
  for (const [name, mint, code, message] of cases) {
    it(`returns ${code} for a token ${name}`, async () => {
      expect(await rejection(verifier()(await mint()))).toEqual({ code, message, status: 401 });
    });
  }

  it('returns invalid_token for the legacy anon and service_role API keys used as user tokens', async () => {
    for (const key of [DEFAULT_ANON_KEY, DEFAULT_SERVICE_ROLE_KEY]) {
      const failure = await rejection(verifier()(key));
      expect(failure.code).toBe('invalid_token');
      expect(failure.status).toBe(401);
    }
  });

  it('refuses alg "none" (unsecured JWT, RFC 8725 §3.1)', async () => {
    const token = rawToken({ alg: 'none', typ: 'JWT' }, claims());
    expect(await rejection(verifier()(token))).toEqual({
      code: 'invalid_token',
      message: 'Token algorithm "none" is not accepted.',
      status: 401,
    });
  });

  it('refuses other algorithms (HS384, PS256) even when correctly formed', async () => {
    const hs384 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS384' }).sign(new TextEncoder().encode(SECRET + SECRET));
    expect(await rejection(verifier()(hs384))).toEqual({ code: 'invalid_token', message: 'Token algorithm "HS384" is not accepted.', status: 401 });
    const ps256 = rawToken({ alg: 'PS256', kid: 'rs-key-1' }, claims(), 'c2ln');
    expect(await rejection(verifier()(ps256))).toEqual({ code: 'invalid_token', message: 'Token algorithm "PS256" is not accepted.', status: 401 });
  });

  it('refuses HS256 tokens "signed" with the public key (algorithm confusion, RFC 8725 §2.1)', async () => {
    const { publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pem = await exportSPKI(publicKey);
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'rs-key-1' };
    for (const keyBytes of [new TextEncoder().encode(pem), new TextEncoder().encode(JSON.stringify(publicJwk))]) {
      const header = { alg: 'HS256', typ: 'JWT', kid: 'rs-key-1' };
      const unsigned = rawToken(header, claims()).slice(0, -1);
      const token = `${unsigned}.${await hmac(unsigned, keyBytes)}`;
      // With a secret configured the HMAC simply does not match; without one HS256 is not accepted at all.
      expect(await rejection(verifier()(token))).toEqual({ code: 'invalid_token', message: 'Token signature is invalid.', status: 401 });
      expect(await rejection(verifier({ jwtSecret: null })(token))).toEqual({
        code: 'invalid_token',
        message: 'Token algorithm HS256 is not accepted: no JWT secret is configured.',
        status: 401,
      });
    }
  });

  it('refuses a valid HS256 token when no legacy secret is configured', async () => {
    expect((await rejection(verifier({ jwtSecret: null })(await hs256(claims())))).code).toBe('invalid_token');
  });

  it('returns 503 auth_unavailable when the signing keys cannot be fetched', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    expect(await rejection(verifier({ fetch: down })(await es256(claims())))).toEqual({
      code: 'auth_unavailable',
      message: 'The signing keys could not be fetched; try again.',
      status: 503,
    });
  });
});
