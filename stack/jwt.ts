import {
  type CryptoKey,
  type JWK,
  type JWTPayload,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
} from 'jose';

/** Algorithms the stack signs and accepts, as the CLI configures GoTrue (`HS256,RS256,ES256`). */
export const ACCEPTED_ALGORITHMS = ['HS256', 'ES256', 'RS256'] as const;
type AsymmetricAlg = 'ES256' | 'RS256';

/** A private signing key with its public half as published in JWKS. */
export interface SigningKey {
  kid: string;
  alg: AsymmetricAlg;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** Why a token was refused; callers map these to their own API's error bodies. */
export type JwtFailure = 'malformed' | 'unsupported_alg' | 'unknown_kid' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'invalid';

/** A failed verification with a reason that callers can map. */
export class JwtError extends Error {
  constructor(
    readonly reason: JwtFailure,
    message: string,
  ) {
    super(message);
    this.name = 'JwtError';
  }
}

/**
 * The stack's token authority: signs access tokens (HS256 with the JWT secret, or ES256/RS256 with a signing key
 * whose public half is published in JWKS) and verifies any token the stack issued or the legacy API keys.
 */
export class JwtKeys {
  readonly secret: Uint8Array;
  /** Tokens already verified, by their exact text: signature checks dominate a small request's cost. */
  private readonly verified = new Map<string, JWTPayload>();

  constructor(
    readonly secretText: string,
    readonly signingKey?: SigningKey,
  ) {
    this.secret = new TextEncoder().encode(secretText);
  }

  /** Signs `claims` (which must carry `exp`) the way GoTrue does: asymmetric key with `kid` if configured, else HS256 without `kid`. */
  async sign(claims: JWTPayload): Promise<string> {
    if (this.signingKey) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: this.signingKey.alg, kid: this.signingKey.kid, typ: 'JWT' })
        .sign(this.signingKey.privateKey);
    }
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.secret);
  }

  /** Signs with the shared secret regardless of mode (API keys, storage URL tokens). */
  async signWithSecret(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(this.secret);
  }

  /** `{"keys":[…]}` — public asymmetric keys only; the symmetric secret is never published. */
  jwks(): { keys: JWK[] } {
    return { keys: this.signingKey ? [this.signingKey.publicJwk] : [] };
  }

  /**
   * Verifies signature, `exp` and `nbf` (30 s leeway, as PostgREST allows). HS256 is checked with the secret;
   * ES256/RS256 must name a `kid` this stack publishes. `alg: none` and anything else is refused. A token verified
   * once is remembered (bounded, by its exact text) and only its `exp`/`nbf` are checked again on later calls.
   */
  async verify(token: string): Promise<JWTPayload> {
    const known = this.verified.get(token);
    if (known && withinTimeClaims(known, Math.floor(Date.now() / 1000))) return { ...known };
    // Expired or not yet valid: the full check below reports why.
    if (known) this.verified.delete(token);
    const payload = await this.verifyUncached(token);
    if (token.length <= MAX_CACHED_TOKEN_LENGTH) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, payload);
    }
    return { ...payload };
  }

  private async verifyUncached(token: string): Promise<JWTPayload> {
    if (token.split('.').length !== 3) {
      throw new JwtError('malformed', `Expected 3 parts in JWT; got ${token.split('.').length}`);
    }
    try {
      const { payload } = await jwtVerify(
        token,
        async (header) => {
          if (header.alg === 'HS256') return this.secret;
          if (header.alg === 'ES256' || header.alg === 'RS256') {
            if (!this.signingKey || header.kid !== this.signingKey.kid || header.alg !== this.signingKey.alg) {
              throw new JwtError('unknown_kid', 'No suitable key or wrong key type');
            }
            return importJWK(this.signingKey.publicJwk, header.alg);
          }
          throw new JwtError('unsupported_alg', `Unsupported JWT algorithm ${String(header.alg)}`);
        },
        { algorithms: [...ACCEPTED_ALGORITHMS], clockTolerance: CLOCK_TOLERANCE_SECONDS },
      );
      return payload;
    } catch (error) {
      throw toJwtError(error);
    }
  }
}

/** Leeway on `exp` and `nbf`, as PostgREST allows. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** Bound of the verified-token cache; the oldest entry leaves first. */
const VERIFIED_CACHE_SIZE = 1024;
/** Longer tokens are verified every time rather than held in memory. */
const MAX_CACHED_TOKEN_LENGTH = 8192;

/** The time checks `jwtVerify` made when the token was first verified, repeated against `now` (seconds). */
function withinTimeClaims(payload: JWTPayload, now: number): boolean {
  if (typeof payload.exp === 'number' && payload.exp <= now - CLOCK_TOLERANCE_SECONDS) return false;
  if (typeof payload.nbf === 'number' && payload.nbf > now + CLOCK_TOLERANCE_SECONDS) return false;
  return true;
}

function toJwtError(error: unknown): JwtError {
  if (error instanceof JwtError) return error;
  if (error instanceof joseErrors.JWTExpired) return new JwtError('expired', 'JWT expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.claim === 'nbf'
      ? new JwtError('not_yet_valid', 'JWT not yet valid')
      : new JwtError('invalid', error.message);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return new JwtError('bad_signature', 'JWT signature verification failed');
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new JwtError('unsupported_alg', 'JWT algorithm not allowed');
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return new JwtError('malformed', error.message);
  return new JwtError('invalid', error instanceof Error ? error.message : String(error));
}

/** Loads the first private JWK of a `supabase gen signing-key` file (array of JWKs) as the signing key. */
export async function signingKeyFromJwk(jwk: JWK): Promise<SigningKey> {
  const alg = jwk.alg as AsymmetricAlg;
  if (alg !== 'ES256' && alg !== 'RS256') throw new Error(`signing key alg must be ES256 or RS256, got ${String(jwk.alg)}`);
  if (!jwk.kid) throw new Error('signing key has no kid');
  // WebCrypto refuses a private EC/RSA key whose usages include "verify", which `supabase gen signing-key`
  // (and generateSigningKey below) write into key_ops; the private half is only ever used to sign.
  const { key_ops: _keyOps, ...importable } = jwk;
  const privateKey = (await importJWK(importable, alg)) as CryptoKey;
  const { d, p, q, dp, dq, qi, key_ops, ...rest } = jwk;
  void d, p, q, dp, dq, qi, key_ops;
  return { kid: jwk.kid, alg, privateKey, publicJwk: { ...rest, key_ops: ['verify'], use: 'sig' } };
}

/** Generates a fresh signing key (kept in memory or persisted by the caller). */
export async function generateSigningKey(alg: AsymmetricAlg = 'ES256'): Promise<JWK> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, alg, kid: crypto.randomUUID(), use: 'sig', key_ops: ['sign', 'verify'], ext: true };
}
