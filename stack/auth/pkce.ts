import { createHash, timingSafeEqual } from 'node:crypto';
import type { Db, TxClient } from '../db/pool.ts';
import { AuthError } from './errors.ts';

/** How long a flow state (and so an auth code) lives: GoTrue's `FlowStateExpiryDuration` default. */
const FLOW_STATE_EXPIRY_SECONDS = 300;

/** The authentication methods a mailed PKCE flow records (GoTrue's `models.AuthenticationMethod`). */
export type FlowMethod = 'email/signup' | 'magiclink' | 'recovery' | 'invite' | 'email_change';

/** The flow method of a `/verify` type, as GoTrue's `ParseAuthenticationMethod`. */
export function flowMethodOf(type: string): FlowMethod {
  switch (type) {
    case 'signup':
      return 'email/signup';
    case 'magiclink':
    case 'recovery':
    case 'invite':
    case 'email_change':
      return type;
    default:
      throw new AuthError(400, 'validation_failed', `Unsupported authentication method: ${type}`);
  }
}

/**
 * GoTrue keeps PKCE flows in `auth.flow_state`. The stack's bootstrap predates them, so the Auth service creates the
 * table (with GoTrue's names and types) on start if it is missing.
 */
export async function ensureFlowStateTable(db: Db): Promise<void> {
  await db.query(`
    do $$ begin
      if not exists (select 1 from pg_type t join pg_namespace n on n.oid = t.typnamespace
                      where n.nspname = 'auth' and t.typname = 'code_challenge_method') then
        create type auth.code_challenge_method as enum ('s256', 'plain');
      end if;
    end $$;
    create table if not exists auth.flow_state (
      id uuid primary key,
      user_id uuid,
      auth_code text not null,
      code_challenge_method auth.code_challenge_method not null,
      code_challenge text not null,
      provider_type text not null,
      provider_access_token text,
      provider_refresh_token text,
      created_at timestamptz,
      updated_at timestamptz,
      authentication_method text not null,
      auth_code_issued_at timestamptz
    );
    create index if not exists idx_auth_code on auth.flow_state (auth_code);
    create index if not exists idx_user_id_auth_method on auth.flow_state (user_id, authentication_method);
    alter table auth.flow_state enable row level security;
  `);
}

/** A PKCE request's challenge, or undefined for the implicit flow. */
export interface PkceChallenge {
  challenge: string;
  method: 's256' | 'plain';
}

/**
 * GoTrue's `validatePKCEParams`: both or neither of `code_challenge` and `code_challenge_method`; a challenge of
 * 43–128 characters from the unreserved set. Returns the challenge, or undefined when the request is not PKCE.
 */
export function pkceChallenge(challenge: string, method: string): PkceChallenge | undefined {
  if ((challenge === '') !== (method === '')) {
    throw new AuthError(400, 'validation_failed', 'PKCE flow requires code_challenge_method and code_challenge');
  }
  if (challenge === '') return undefined;
  if (challenge.length < 43 || challenge.length > 128) {
    throw new AuthError(400, 'validation_failed', 'code challenge has to be between 43 and 128 characters');
  }
  if (!/^[a-zA-Z._~0-9-]+$/.test(challenge)) {
    throw new AuthError(
      400,
      'validation_failed',
      'code challenge can only contain alphanumeric characters, hyphens, periods, underscores and tildes',
    );
  }
  const normalized = method.toLowerCase();
  if (normalized !== 's256' && normalized !== 'plain') {
    throw new AuthError(400, 'validation_failed', 'code challenge method not supported');
  }
  return { challenge, method: normalized };
}

/** Records a PKCE flow for a mailed link or code (GoTrue's `generateFlowState`). */
export async function createFlowState(tx: TxClient, userId: string, method: FlowMethod, pkce: PkceChallenge): Promise<void> {
  await tx.query(
    `insert into auth.flow_state (id, user_id, auth_code, code_challenge_method, code_challenge, provider_type,
        created_at, updated_at, authentication_method)
     values ($1, $2, $3, $4::auth.code_challenge_method, $5, $6, now(), now(), $6)`,
    [crypto.randomUUID(), userId, crypto.randomUUID(), pkce.method, pkce.challenge, method],
  );
}

/**
 * GoTrue's `issueAuthCode`: the newest flow of this user and method hands out its auth code (the link's `?code=`),
 * marking when it did.
 */
export async function issueAuthCode(tx: TxClient, userId: string, method: FlowMethod): Promise<string> {
  const { rows } = await tx.query<{ id: string; auth_code: string }>(
    `update auth.flow_state set auth_code_issued_at = now(), updated_at = now()
      where id = (select id from auth.flow_state where user_id = $1 and authentication_method = $2
                   order by created_at desc limit 1)
      returning id, auth_code`,
    [userId, method],
  );
  if (!rows[0]) throw new AuthError(400, 'flow_state_not_found', 'No associated flow state found. No valid flow state found for user.');
  return rows[0].auth_code;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The flow an auth code belongs to, once its `code_verifier` is proven; the flow is consumed. */
export interface RedeemedFlow {
  userId: string;
  method: string;
}

/**
 * The `pkce` grant's checks (GoTrue's `PKCE`): the auth code names a live flow with a user (404
 * `flow_state_not_found`), not older than five minutes (422 `flow_state_expired`), whose challenge the verifier
 * answers (400 `bad_code_verifier`). The flow is deleted in the same transaction, so a code works once.
 */
export async function redeemAuthCode(tx: TxClient, authCode: string, codeVerifier: string): Promise<RedeemedFlow> {
  const { rows } = await tx.query<{
    id: string;
    user_id: string | null;
    code_challenge: string;
    code_challenge_method: string;
    authentication_method: string;
    expired: boolean;
  }>(
    `select id, user_id, code_challenge, code_challenge_method::text, authentication_method,
            now() > coalesce(case when authentication_method = 'magiclink' then auth_code_issued_at end, created_at)
                    + make_interval(secs => $2) as expired
       from auth.flow_state where auth_code = $1 for update`,
    [authCode, FLOW_STATE_EXPIRY_SECONDS],
  );
  const flow = rows[0];
  if (!flow || !flow.user_id) throw new AuthError(404, 'flow_state_not_found', 'invalid flow state, no valid flow state found');
  if (flow.expired) throw new AuthError(422, 'flow_state_expired', 'invalid flow state, flow state has expired');
  const expected =
    flow.code_challenge_method === 's256' ? createHash('sha256').update(codeVerifier).digest('base64url') : codeVerifier;
  if (!safeEqual(flow.code_challenge, expected)) {
    throw new AuthError(400, 'bad_code_verifier', 'code challenge does not match previously saved code verifier');
  }
  await tx.query('delete from auth.flow_state where id = $1', [flow.id]);
  return { userId: flow.user_id, method: flow.authentication_method };
}
