import type { JwtKeys } from '../jwt.ts';
import type { SessionGrant } from './sessions.ts';
import type { AuthSettings } from './settings.ts';
import type { UserJson } from './users.ts';

/** The access-token claims GoTrue mints (contract §2.4), in its order; no `jti`, no `ref`, `aud` a string. */
export function accessTokenClaims(grant: SessionGrant, settings: AuthSettings, issuedAt: number): Record<string, unknown> {
  const { user } = grant;
  return {
    iss: settings.issuer,
    sub: user.id,
    aud: user.aud ?? '',
    exp: issuedAt + settings.jwtExpiry,
    iat: issuedAt,
    email: user.email ?? '',
    phone: user.phone ?? '',
    app_metadata: user.raw_app_meta_data ?? {},
    user_metadata: user.raw_user_meta_data ?? {},
    role: user.role ?? '',
    aal: grant.aal,
    amr: grant.amr,
    session_id: grant.sessionId,
    is_anonymous: user.is_anonymous,
  };
}

/** GoTrue's `AccessTokenResponse`: what sign-up, sign-in and refresh return. */
export interface SessionResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: UserJson;
  weak_password?: { reasons: string[]; message: string };
}

/** Signs the access token for `grant` and assembles the session body around the rendered user. */
export async function sessionResponse(
  jwt: JwtKeys,
  settings: AuthSettings,
  grant: SessionGrant,
  user: UserJson,
): Promise<SessionResponse> {
  const issuedAt = Math.floor(Date.now() / 1000);
  const claims = accessTokenClaims(grant, settings, issuedAt);
  return {
    access_token: await jwt.sign(claims),
    token_type: 'bearer',
    expires_in: settings.jwtExpiry,
    expires_at: issuedAt + settings.jwtExpiry,
    refresh_token: grant.refreshToken,
    user,
  };
}
