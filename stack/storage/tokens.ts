import { jwtVerify, SignJWT, type JWTPayload } from 'jose';
import type { JwtKeys } from '../jwt.ts';
import { ERRORS } from './errors.ts';

/** The claims of a signed download URL token (upstream `SignedToken`). */
export interface DownloadToken extends JWTPayload {
  url: string;
  scope?: 'download';
}

/** The claims of a signed upload URL token (upstream `SignedUploadToken`). */
export interface UploadToken extends JWTPayload {
  url: string;
  owner?: string;
  upsert: boolean;
  scope?: 'upload';
}

/** Upstream's default lifetime of a signed upload URL (`UPLOAD_SIGNED_URL_EXPIRATION_TIME`). */
export const SIGNED_UPLOAD_URL_EXPIRES_IN = 7200;

/**
 * Signs and checks signed-URL tokens as the Storage API does: HS256 with the project's JWT secret, `url` =
 * `<bucket>/<key>`, a `scope` so a download token can never be replayed as an upload token (and vice versa),
 * `iat`/`exp`. `now` is injectable so tests control the clock.
 */
export class UrlTokens {
  constructor(
    private readonly jwt: JwtKeys,
    private readonly now: () => number = Date.now,
  ) {}

  async sign(claims: Record<string, unknown>, expiresIn: number): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.floor(expiresIn))
      .sign(this.jwt.secret);
  }

  async verify(token: string | null, bucketId: string, key: string, scope: 'download'): Promise<DownloadToken>;
  async verify(token: string | null, bucketId: string, key: string, scope: 'upload'): Promise<UploadToken>;
  async verify(token: string | null, bucketId: string, key: string, scope: 'download' | 'upload'): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token ?? '', this.jwt.secret, {
        algorithms: ['HS256'],
        currentDate: new Date(this.now()),
      }));
    } catch (error) {
      throw ERRORS.invalidJwt(error instanceof Error ? error.message : 'Invalid JWT');
    }
    const scoped =
      scope === 'upload'
        ? payload.scope === 'upload' || (payload.scope === undefined && 'upsert' in payload)
        : payload.scope === 'download' || (payload.scope === undefined && !('upsert' in payload));
    if (!scoped) throw ERRORS.invalidSignature(`Token is not scoped for ${scope}`);
    if (payload.url !== `${bucketId}/${key}`) throw ERRORS.invalidSignature();
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < this.now()) throw ERRORS.expiredSignature();
    return payload;
  }
}

/** Upstream's check of a numeric `expiresIn`: a safe integer of at least one second. */
export function mustBeValidExpiresIn(expiresIn: unknown): number {
  if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn)) throw ERRORS.invalidParameter('expiresIn');
  const seconds = Math.floor(expiresIn);
  // Tokens must expire before 2^31 seconds (upstream's absolute ceiling).
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 2 ** 31 - 1 - Math.floor(Date.now() / 1000)) {
    throw ERRORS.invalidParameter('expiresIn');
  }
  return seconds;
}
