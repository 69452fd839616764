import { randomInt } from 'node:crypto';
import { isIP } from 'node:net';
import type { TxClient } from '../db/pool.ts';
import { AuthError } from './errors.ts';
import type { AuthSettings } from './settings.ts';
import { findUserById, isBanned, NIL_UUID, type UserRow } from './users.ts';

/** One `amr` entry of an access token: how and when the session was authenticated. */
export interface AmrEntry {
  method: string;
  timestamp: number;
}

/** Where a session was created from, stored on `auth.sessions` as GoTrue does. */
export interface GrantParams {
  userAgent: string | null;
  ip: string | null;
}

/** What an access token is minted from. */
export interface SessionGrant {
  user: UserRow;
  sessionId: string;
  aal: string;
  amr: AmrEntry[];
  refreshToken: string;
}

const TOKEN_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** An opaque refresh token shaped like GoTrue's (12 random alphanumerics). */
export function newRefreshToken(): string {
  let token = '';
  for (let i = 0; i < 12; i += 1) token += TOKEN_ALPHABET[randomInt(TOKEN_ALPHABET.length)];
  return token;
}

/** The request's user agent and client address (from `X-Forwarded-For`, when it is a valid IP). */
export function grantParamsFrom(request: Request): GrantParams {
  const forwarded = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? '';
  return { userAgent: request.headers.get('user-agent'), ip: isIP(forwarded) ? forwarded : null };
}

async function insertRefreshToken(tx: TxClient, userId: string, sessionId: string, parent: string | null): Promise<string> {
  const token = newRefreshToken();
  await tx.query(
    `insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, updated_at, parent, session_id)
     values ($1, $2, $3, false, now(), now(), $4, $5)`,
    [NIL_UUID, token, userId, parent, sessionId],
  );
  return token;
}

/** The session's `amr` claim, most recent first (GoTrue's `CalculateAALAndAMR`). */
export async function sessionAmr(tx: TxClient, sessionId: string): Promise<AmrEntry[]> {
  const { rows } = await tx.query<{ method: string; ts: string }>(
    `select authentication_method as method, extract(epoch from updated_at)::bigint::text as ts
       from auth.mfa_amr_claims where session_id = $1 order by updated_at desc`,
    [sessionId],
  );
  return rows.map((r) => ({ method: r.method, timestamp: Number(r.ts) }));
}

/**
 * Signs the user in: a new session with its `amr` claim, a first refresh token, and `last_sign_in_at` (GoTrue's
 * `IssueRefreshToken`). Runs inside the caller's transaction.
 */
export async function createSession(
  tx: TxClient,
  userId: string,
  method: string,
  grant: GrantParams,
): Promise<SessionGrant> {
  const sessionId = crypto.randomUUID();
  await tx.query(
    `insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent, ip)
     values ($1, $2, now(), now(), 'aal1', $3, $4::inet)`,
    [sessionId, userId, grant.userAgent, grant.ip],
  );
  await tx.query(
    `insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at, authentication_method)
     values ($1, $2, now(), now(), $3)`,
    [crypto.randomUUID(), sessionId, method],
  );
  const refreshToken = await insertRefreshToken(tx, userId, sessionId, null);
  await tx.query('update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1', [userId]);
  const user = await findUserById(tx, userId);
  if (!user) throw new Error(`user ${userId} vanished while signing in`);
  return { user, sessionId, aal: 'aal1', amr: await sessionAmr(tx, sessionId), refreshToken };
}

interface TokenRow {
  id: string;
  token: string;
  user_id: string;
  revoked: boolean;
  session_id: string | null;
  reuse_expired: boolean;
}

/** The result of a refresh: a grant, or an error to return only after the transaction commits. */
export type RefreshOutcome = { ok: true; grant: SessionGrant } | { ok: false; error: AuthError };

/**
 * The `refresh_token` grant with GoTrue's rotation rules, in one transaction:
 * an active token is revoked and a child issued; a revoked token that is the parent of the session's active token
 * gets that active token back (the client lost the last response); any other revoked token is still swapped while
 * within `refresh_token_reuse_interval` of its revocation, and after it every token of the session is revoked and
 * the answer is 400 `refresh_token_already_used`. That revocation must commit, so it is returned, not thrown.
 */
export async function refreshSession(
  tx: TxClient,
  refreshToken: string,
  settings: AuthSettings,
  grant: GrantParams,
): Promise<RefreshOutcome> {
  const { rows } = await tx.query<TokenRow>(
    `select id::text, token, user_id, revoked, session_id,
            clock_timestamp() >= updated_at + make_interval(secs => $2) as reuse_expired
       from auth.refresh_tokens where token = $1 for update`,
    [refreshToken, settings.refreshTokenReuseInterval],
  );
  const token = rows[0];
  const user = token && /^[0-9a-f-]{36}$/i.test(token.user_id) ? await findUserById(tx, token.user_id) : undefined;
  if (!token || !user) {
    throw new AuthError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  }
  if (isBanned(user)) throw new AuthError(400, 'user_banned', 'Invalid Refresh Token: User Banned');

  const session = token.session_id
    ? (
        await tx.query<{ id: string; aal: string | null; expired: boolean }>(
          `select id, aal::text, coalesce(not_after < now(), false) as expired from auth.sessions where id = $1 for update`,
          [token.session_id],
        )
      ).rows[0]
    : undefined;
  if (!session) {
    // A token without a session predates sessions; GoTrue deletes it.
    await tx.query('delete from auth.refresh_tokens where id = $1', [token.id]);
    return { ok: false, error: new AuthError(400, 'session_not_found', 'Invalid Refresh Token: No Valid Session Found') };
  }
  if (session.expired) throw new AuthError(400, 'session_expired', 'Invalid Refresh Token: Session Expired');

  let issued: string | undefined;
  if (token.revoked) {
    const { rows: active } = await tx.query<{ token: string; parent: string | null }>(
      `select token, parent from auth.refresh_tokens
        where session_id = $1 and revoked = false order by id desc limit 1`,
      [session.id],
    );
    if (active[0] && active[0].parent === token.token) {
      issued = active[0].token;
    } else if (token.reuse_expired) {
      if (settings.refreshTokenRotation) {
        await tx.query(
          'update auth.refresh_tokens set revoked = true, updated_at = now() where session_id = $1 and revoked = false',
          [session.id],
        );
      }
      return { ok: false, error: new AuthError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used') };
    }
  }
  if (!issued) {
    await tx.query('update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1', [token.id]);
    issued = await insertRefreshToken(tx, user.id, session.id, token.token);
  }
  await tx.query(
    `update auth.sessions set refreshed_at = timezone('utc', now()), updated_at = now(), user_agent = $2, ip = $3::inet
      where id = $1`,
    [session.id, grant.userAgent, grant.ip],
  );
  return {
    ok: true,
    grant: { user, sessionId: session.id, aal: session.aal ?? 'aal1', amr: await sessionAmr(tx, session.id), refreshToken: issued },
  };
}

/** `POST /logout` scopes. */
export type LogoutScope = 'global' | 'local' | 'others';

/**
 * Ends sessions (their refresh tokens go with them): `global` every session of the user, `local` only this one,
 * `others` all but this one. Without a session id every scope is global, as in GoTrue.
 */
export async function logout(tx: TxClient, userId: string, sessionId: string | undefined, scope: LogoutScope): Promise<void> {
  if (sessionId && scope === 'local') {
    await tx.query('delete from auth.sessions where id = $1', [sessionId]);
  } else if (sessionId && scope === 'others') {
    await tx.query('delete from auth.sessions where user_id = $1 and id <> $2', [userId, sessionId]);
  } else {
    await tx.query('delete from auth.sessions where user_id = $1', [userId]);
    await tx.query('delete from auth.refresh_tokens where user_id = $1', [userId]);
  }
}
