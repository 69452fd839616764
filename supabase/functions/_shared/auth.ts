import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors as joseErrors,
  type JSONWebKeySet,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { SupabaseConfig } from './env.ts';
import { ApiError } from './errors.ts';
import { isUuid } from './ids.ts';

/** Stable codes of authentication failures (a closed union, like jose's `ERR_*`). */
export type AuthErrorCode = 'missing_authorization' | 'invalid_auth_scheme' | 'invalid_token' | 'token_expired';

/** Claims of a Supabase Auth access token (contract §2.4) that callers rely on. */
export interface SupabaseClaims extends JWTPayload {
  sub: string;
  role: string;
  aud: string | string[];
  email?: string;
  phone?: string;
  session_id?: string;
  is_anonymous?: boolean;
  aal?: string;
  app_metadata?: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

/** The verified caller, as the auth middleware puts it on `c.var.user`. */
export interface AuthUser {
  id: string;
  email: string | undefined;
  role: 'authenticated';
  claims: SupabaseClaims;
}

/**
 * A 401 from token verification. Carries the RFC 6750 challenge: a bare `Bearer` when the request has no
 * bearer credentials at all (§3.1 says not to send an error code then), `error="invalid_token"` otherwise.
 */
export class AuthError extends ApiError {
  constructor(
    override readonly code: AuthErrorCode,
    message: string,
    cause?: unknown,
  ) {
    const challenge =
      code === 'missing_authorization' || code === 'invalid_auth_scheme'
        ? 'Bearer'
        : `Bearer error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`;
    super(401, code, message, { headers: { 'WWW-Authenticate': challenge }, cause });
    this.name = 'AuthError';
  }
}

/** Options of {@link createTokenVerifier}: configuration and fetch are injected, nothing is read from globals. */
export interface TokenVerifierOptions {
  config: Pick<SupabaseConfig, 'url' | 'issuer' | 'jwtSecret' | 'jwks'>;
  /** Allowed clock skew for `exp`/`nbf`/`iat`, in seconds; default 10. */
  clockToleranceSec?: number;
  /** fetch used for the JWKS endpoint (tests, custom agents); default global fetch. */
  fetch?: typeof fetch;
}

/** Verifies a Supabase access token and returns the user it belongs to, or throws an {@link AuthError}. */
export type TokenVerifier = (token: string) => Promise<AuthUser>;

const ASYMMETRIC = new Set(['ES256', 'RS256']);

/**
 * Builds a verifier for user access tokens issued by Supabase Auth:
 * - ES256/RS256 tokens are checked against the project's signing keys (`SUPABASE_JWKS` if injected, else
 *   `${url}/auth/v1/.well-known/jwks.json`, fetched lazily and cached by jose); the token must name a `kid`.
 * - HS256 tokens are checked with the legacy JWT secret, and refused when none is configured.
 * - Anything else (`none`, HS384, PS256, …) is refused before any key is used, so a token cannot choose how it
 *   is verified (RFC 8725 §2.1, §3.1): an HS256 token "signed" with a public key never meets that key.
 * - Claims: `iss` is the project's issuer, `aud` is `authenticated`, `exp`/`nbf` with a small leeway, `role` is
 *   `authenticated` (so anon and service_role API keys are not user tokens), `sub` is a UUID.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const { config } = options;
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  let keySet: JWTVerifyGetKey | undefined;
  const signingKeys = (): JWTVerifyGetKey => {
    keySet ??= config.jwks
      ? createLocalJWKSet(config.jwks as JSONWebKeySet)
      : createRemoteJWKSet(new URL(`${config.url}/auth/v1/.well-known/jwks.json`), {
          cacheMaxAge: 10 * 60_000,
          cooldownDuration: 30_000,
          ...(options.fetch ? { [customFetch]: options.fetch } : {}),
        });
    return keySet;
  };
  const algorithms = [...ASYMMETRIC, ...(secret ? ['HS256'] : [])];

  return async (token) => {
    let alg: string | undefined;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch (error) {
      throw new AuthError('invalid_token', 'Token is malformed.', error);
    }
    if (token.split('.').length !== 3) throw new AuthError('invalid_token', 'Token is malformed.');
    if (alg === 'HS256' && !secret) {
      throw new AuthError('invalid_token', 'Token algorithm HS256 is not accepted: no JWT secret is configured.');
    }
    if (!alg || !algorithms.includes(alg)) {
      throw new AuthError('invalid_token', `Token algorithm ${JSON.stringify(alg ?? null)} is not accepted.`);
    }

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header, input) => {
          if (header.alg === 'HS256') return secret!;
          if (!header.kid) throw new AuthError('invalid_token', 'Token header has no "kid".');
          return signingKeys()(header, input);
        },
        {
          algorithms,
          issuer: config.issuer,
          audience: 'authenticated',
          clockTolerance: options.clockToleranceSec ?? 10,
          requiredClaims: ['exp', 'sub', 'role'],
        },
      ));
    } catch (error) {
      throw toAuthError(error);
    }

    const claims = payload as SupabaseClaims;
    if (claims.role !== 'authenticated') {
      throw new AuthError('invalid_token', 'Token "role" claim must be "authenticated".');
    }
    if (!isUuid(claims.sub)) {
      throw new AuthError('invalid_token', 'Token "sub" claim must be a user id (UUID).');
    }
    return {
      id: claims.sub,
      email: typeof claims.email === 'string' && claims.email !== '' ? claims.email : undefined,
      role: 'authenticated',
      claims,
    };
  };
}

function toAuthError(error: unknown): AuthError | ApiError {
  if (error instanceof AuthError) return error;
  if (error instanceof joseErrors.JWTExpired) return new AuthError('token_expired', 'Token has expired.', error);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    const messages: Record<string, string> = {
      iss: 'Token "iss" claim is not this project\'s Auth issuer.',
      aud: 'Token "aud" claim must be "authenticated".',
      nbf: 'Token is not valid yet ("nbf" is in the future).',
      iat: 'Token "iat" claim is in the future.',
    };
    return new AuthError('invalid_token', messages[error.claim] ?? `Token "${error.claim}" claim is missing or invalid.`, error);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey) {
    return new AuthError('invalid_token', 'Token "kid" does not match any of the project\'s signing keys.', error);
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new AuthError('invalid_token', 'Token signature is invalid.', error);
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return new AuthError('invalid_token', 'Token algorithm is not accepted.', error);
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid || error instanceof TypeError) {
    // The signing keys could not be fetched: our outage, not the caller's fault.
    return new ApiError(503, 'auth_unavailable', 'The signing keys could not be fetched; try again.', { cause: error });
  }
  if (error instanceof joseErrors.JOSEError) return new AuthError('invalid_token', 'Token is malformed.', error);
  return new ApiError(500, 'internal_error', 'Token verification failed unexpectedly.', { cause: error });
}

/**
 * The bearer token of an `Authorization` header value (RFC 6750 §2.1, scheme case-insensitive), or an
 * {@link AuthError}: `missing_authorization` without the header, `invalid_auth_scheme` for another scheme.
 */
export function bearerToken(authorization: string | undefined | null): string {
  if (!authorization) throw new AuthError('missing_authorization', 'Authorization header is required.');
  const match = /^(\S+)\s+(\S+)$/.exec(authorization.trim());
  if (!match || match[1].toLowerCase() !== 'bearer') throw new AuthError('invalid_auth_scheme', 'Token must be Bearer.');
  return match[2];
}
