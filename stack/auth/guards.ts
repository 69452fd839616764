import type { JWTPayload } from 'jose';
import type { Db } from '../db/pool.ts';
import { JwtError, type JwtKeys } from '../jwt.ts';
import { AuthError } from './errors.ts';
import { ADMIN_ROLES } from './settings.ts';
import { findUserById, identitiesOf, isBanned, type IdentityRow, type UserRow } from './users.ts';

const BEARER = /^(?:B|b)earer (\S+)$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NIL_SESSION = '00000000-0000-0000-0000-000000000000';

/** The caller of a user endpoint, loaded from its access token. */
export interface Caller {
  claims: JWTPayload & Record<string, unknown>;
  user: UserRow;
  identities: IdentityRow[];
  /** The session named by `session_id`, when the token has one. */
  sessionId: string | undefined;
}

/** The bearer token of the request, or 401 `no_authorization` (GoTrue's `extractBearerToken`). */
export function bearerToken(request: Request): string {
  const match = BEARER.exec(request.headers.get('authorization') ?? '');
  if (!match) throw new AuthError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  return match[1];
}

/** Go's jwt library wording for each failure, which GoTrue puts after "invalid JWT: unable to parse or verify signature, ". */
function describeJwtError(error: JwtError): string {
  switch (error.reason) {
    case 'expired':
      return 'token has invalid claims: token is expired';
    case 'not_yet_valid':
      return 'token has invalid claims: token is not valid yet';
    case 'bad_signature':
      return 'token signature is invalid: signature is invalid';
    case 'malformed':
      return `token is malformed: ${error.message}`;
    case 'unknown_kid':
    case 'unsupported_alg':
      return `token is unverifiable: error while executing keyfunc: ${error.message}`;
    default:
      return `token has invalid claims: ${error.message}`;
  }
}

/** Verifies signature and expiry; any failure is 403 `bad_jwt`. */
export async function verifyBearer(jwt: JwtKeys, token: string): Promise<Caller['claims']> {
  try {
    return (await jwt.verify(token)) as Caller['claims'];
  } catch (error) {
    if (error instanceof JwtError) {
      throw new AuthError(403, 'bad_jwt', `invalid JWT: unable to parse or verify signature, ${describeJwtError(error)}`);
    }
    throw error;
  }
}

/**
 * GoTrue's `maybeLoadUserOrSession`: the token must name an existing user (`sub`) and, if it carries a
 * `session_id`, an existing session. One read-only transaction.
 */
async function loadCaller(db: Db, claims: Caller['claims']): Promise<Caller> {
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  if (!sub) throw new AuthError(403, 'bad_jwt', 'invalid claim: missing sub claim');
  if (!UUID.test(sub)) throw new AuthError(400, 'bad_jwt', 'invalid claim: sub claim must be a UUID');
  const rawSession = typeof claims.session_id === 'string' ? claims.session_id : '';
  const sessionId = rawSession && rawSession !== NIL_SESSION ? rawSession : undefined;
  if (sessionId && !UUID.test(sessionId)) {
    throw new AuthError(403, 'bad_jwt', 'invalid claim: session_id claim must be a UUID');
  }
  return db.tx(
    async (tx) => {
      const user = await findUserById(tx, sub);
      if (!user) throw new AuthError(403, 'user_not_found', 'User from sub claim in JWT does not exist');
      if (sessionId) {
        const { rowCount } = await tx.query('select 1 from auth.sessions where id = $1', [sessionId]);
        if (!rowCount) throw new AuthError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
      }
      const identities = (await identitiesOf(tx, [sub])).get(sub) ?? [];
      return { claims, user, identities, sessionId };
    },
    { readOnly: true },
  );
}

/** `requireAuthentication`: a valid user token whose user and session still exist and who is not banned. */
export async function authenticateUser(db: Db, jwt: JwtKeys, request: Request): Promise<Caller> {
  const claims = await verifyBearer(jwt, bearerToken(request));
  const caller = await loadCaller(db, claims);
  if (isBanned(caller.user)) throw new AuthError(403, 'user_banned', 'User is banned');
  return caller;
}

/**
 * `requireAdminCredentials`: a valid token whose `role` is an admin role (`service_role`, `supabase_admin`).
 * A token that names a session (a user's token) must still have that session.
 */
export async function authenticateAdmin(db: Db, jwt: JwtKeys, request: Request): Promise<void> {
  const claims = await verifyBearer(jwt, bearerToken(request));
  if (typeof claims.session_id === 'string' && claims.session_id && claims.session_id !== NIL_SESSION) {
    await loadCaller(db, claims);
  }
  if (typeof claims.role !== 'string' || !ADMIN_ROLES.includes(claims.role)) {
    throw new AuthError(403, 'not_admin', 'User not allowed');
  }
}
