import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TxClient } from '../db/pool.ts';
import { readJson, rejectNulInQuery } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError } from './errors.ts';
import { isOtpExpired, isOtpValid, PKCE_PREFIX, tokenHash } from './otp.ts';
import { hashPassword } from './passwords.ts';
import { flowMethodOf, issueAuthCode } from './pkce.ts';
import { limitRequest } from './rate-limit.ts';
import { referrer } from './redirects.ts';
import { createSession, grantParamsFrom, type SessionGrant } from './sessions.ts';
import { DEFAULT_AUD } from './settings.ts';
import { sessionResponse } from './tokens.ts';
import {
  findUserByEmail,
  findUserById,
  findUserByToken,
  insertIdentity,
  loadUserJson,
  mergeMetadata,
  NIL_UUID,
  type TokenColumn,
  type UserRow,
} from './users.ts';
import { validateEmail } from './validation.ts';

/** GoTrue's answer when only one of the two e-mail change links has been followed. */
const SINGLE_CONFIRMATION = 'Confirmation link accepted. Please proceed to confirm link sent to the other email';

const EMAIL_TYPES = ['signup', 'invite', 'recovery', 'magiclink', 'email_change', 'email'] as const;
type EmailType = (typeof EMAIL_TYPES)[number];
/** A verification type once `email` has been resolved to what it stands for. */
type LinkType = Exclude<EmailType, 'email'>;

/** The user a token belongs to, what kind of token it was, and its hash. */
interface FoundToken {
  user: UserRow;
  type: LinkType;
  hash: string;
}

/** The OAuth error name GoTrue puts in an error redirect for each status (`oauthErrorMap`). */
const OAUTH_ERRORS: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized_client',
  403: 'access_denied',
  500: 'server_error',
  503: 'temporarily_unavailable',
};

const text = z
  .string()
  .nullish()
  .transform((v) => v ?? '');

/** `POST /verify` (GoTrue `VerifyParams`). */
const VerifySchema = z.object({ type: text, token: text, token_hash: text, email: text, phone: text, redirect_to: text });

function expiredLink(): AuthError {
  return new AuthError(403, 'otp_expired', 'Email link is invalid or has expired');
}

function invalidToken(): AuthError {
  return new AuthError(403, 'otp_expired', 'Token has expired or is invalid');
}

const TOKEN_COLUMNS: Record<LinkType, TokenColumn[]> = {
  signup: ['confirmation_token'],
  invite: ['confirmation_token'],
  recovery: ['recovery_token'],
  magiclink: ['recovery_token'],
  email_change: ['email_change_token_new', 'email_change_token_current'],
};

function sentAtFor(user: UserRow, type: LinkType): Date | null {
  if (type === 'signup' || type === 'invite') return user.confirmation_sent_at;
  if (type === 'email_change') return user.email_change_sent_at;
  return user.recovery_sent_at;
}

function isEmailType(type: string): type is EmailType {
  return (EMAIL_TYPES as readonly string[]).includes(type);
}

/**
 * GoTrue's `verifyTokenHash`: the user whose stored token is this hash. `email` means "the sign-up confirmation or
 * the sign-in code", resolved to `signup` or `magiclink` by which token matched.
 */
async function userByTokenHash(deps: AuthDeps, tx: TxClient, type: EmailType, hash: string): Promise<FoundToken> {
  const columns: TokenColumn[] = type === 'email' ? ['confirmation_token', 'recovery_token'] : TOKEN_COLUMNS[type];
  const user = await findUserByToken(tx, columns, hash);
  if (!user) throw expiredLink();
  if (user.banned_until && new Date(user.banned_until).getTime() > Date.now()) throw new AuthError(403, 'user_banned', 'User is banned');
  const resolved = type === 'email' ? (user.recovery_token === hash ? 'magiclink' : 'signup') : type;
  if (isOtpExpired(sentAtFor(user, resolved), deps.settings.otpExpiry)) throw expiredLink();
  return { user, type: resolved, hash };
}

/** GoTrue's `verifyUserAndToken` for an e-mailed code: the user of `email` whose stored hash matches the code. */
async function userByCode(deps: AuthDeps, tx: TxClient, type: EmailType, email: string, code: string): Promise<FoundToken> {
  const hash = tokenHash(email, code);
  const expiry = deps.settings.otpExpiry;
  let user: UserRow | undefined;
  if (type === 'email_change') {
    const { rows } = await tx.query<{ id: string }>(
      `select id from auth.users where instance_id = $3 and aud = $2 and is_sso_user = false
          and (lower(email) = lower($1) or lower(email_change) = lower($1)) limit 1`,
      [email, DEFAULT_AUD, NIL_UUID],
    );
    user = rows[0] ? await findUserById(tx, rows[0].id, true) : undefined;
  } else {
    user = await findUserByEmail(tx, email, DEFAULT_AUD);
  }
  if (!user) throw invalidToken();
  if (user.banned_until && new Date(user.banned_until).getTime() > Date.now()) throw new AuthError(403, 'user_banned', 'User is banned');
  let resolved: LinkType | undefined;
  if (type === 'email') {
    if (isOtpValid(hash, user.confirmation_token, user.confirmation_sent_at, expiry)) resolved = 'signup';
    else if (isOtpValid(hash, user.recovery_token, user.recovery_sent_at, expiry)) resolved = 'magiclink';
  } else if (type === 'email_change') {
    const sent = user.email_change_sent_at;
    if (isOtpValid(hash, user.email_change_token_current, sent, expiry) || isOtpValid(hash, user.email_change_token_new, sent, expiry)) {
      resolved = type;
    }
  } else {
    const column = TOKEN_COLUMNS[type][0];
    if (isOtpValid(hash, user[column], sentAtFor(user, type), expiry)) resolved = type;
  }
  if (!resolved) throw invalidToken();
  return { user, type: resolved, hash };
}

/** GoTrue's `user.Confirm`: the address is confirmed, the confirmation token spent, `email_verified` set everywhere. */
export async function confirmEmail(tx: TxClient, userId: string): Promise<void> {
  await tx.query(
    `update auth.users set email_confirmed_at = coalesce(email_confirmed_at, now()), confirmation_token = '', updated_at = now()
      where id = $1`,
    [userId],
  );
  await mergeMetadata(tx, userId, 'raw_user_meta_data', { email_verified: true });
  await tx.query(
    `update auth.identities set identity_data = identity_data || '{"email_verified": true}'::jsonb, updated_at = now()
      where user_id = $1 and provider = 'email'`,
    [userId],
  );
}

/** Completes an e-mail change: the pending address becomes the address, on the user and its email identity. */
export async function applyEmailChange(tx: TxClient, user: UserRow, newEmail: string): Promise<void> {
  const updated = await tx.query(
    `update auth.identities set identity_data = identity_data || $2::jsonb, updated_at = now()
      where user_id = $1 and provider = 'email'`,
    [user.id, JSON.stringify({ email: newEmail, email_verified: true })],
  );
  if (!updated.rowCount) {
    await insertIdentity(tx, user.id, 'email', { sub: user.id, email: newEmail, email_verified: true, phone_verified: false });
    await tx.query(
      `update auth.users set raw_app_meta_data = jsonb_set(coalesce(raw_app_meta_data, '{}'), '{providers}',
          coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) || '"email"'::jsonb)
        where id = $1 and not coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) ? 'email'`,
      [user.id],
    );
    await tx.query(
      `update auth.users set raw_app_meta_data = raw_app_meta_data || '{"provider": "email"}'::jsonb
        where id = $1 and coalesce(raw_app_meta_data ->> 'provider', '') = ''`,
      [user.id],
    );
  }
  await tx.query(
    `update auth.users set email = $2, email_change = '', email_change_token_current = '', email_change_token_new = '',
        email_change_confirm_status = 0, email_confirmed_at = coalesce(email_confirmed_at, now()), is_anonymous = false,
        updated_at = now()
      where id = $1`,
    [user.id, newEmail],
  );
}

/**
 * GoTrue's `emailChangeVerify`. With confirmations required and `double_confirm_changes`, the first of the two links
 * only records itself (returns false); the second, or the only one otherwise, completes the change (returns true).
 */
async function verifyEmailChange(deps: AuthDeps, tx: TxClient, user: UserRow, hash: string): Promise<boolean> {
  const { settings } = deps;
  if (!settings.mailerAutoconfirm && settings.secureEmailChange && (user.email_change_confirm_status ?? 0) === 0 && user.email) {
    const matches = (stored: string | null) => !!stored && (stored === hash || stored === PKCE_PREFIX + hash);
    const column = matches(user.email_change_token_current) ? 'email_change_token_current' : 'email_change_token_new';
    await tx.query(`update auth.users set email_change_confirm_status = 1, ${column} = '' where id = $1`, [user.id]);
    return false;
  }
  await applyEmailChange(tx, user, user.email_change ?? '');
  return true;
}

/** What a verification did: signed the user in, or (first of two e-mail change links) only recorded itself. */
type Verified = { kind: 'signed_in'; userId: string } | { kind: 'single_confirmation' };

/** Applies a verified token of `type` to `user` (GoTrue's `signupVerify`, `recoverVerify`, `emailChangeVerify`). */
async function applyVerification(
  deps: AuthDeps,
  tx: TxClient,
  user: UserRow,
  type: LinkType,
  hash: string,
  invitePassword: string | undefined,
): Promise<Verified> {
  if (type === 'signup' || type === 'invite') {
    const { rows } = await tx.query<{ has_password: boolean }>(
      `select coalesce(encrypted_password, '') <> '' as has_password from auth.users where id = $1`,
      [user.id],
    );
    // An invited user has no password yet; GoTrue sets a random one and the app asks for a real one.
    if (!rows[0].has_password && user.invited_at && invitePassword) {
      await tx.query('update auth.users set encrypted_password = $2 where id = $1', [user.id, invitePassword]);
    }
    await confirmEmail(tx, user.id);
  } else if (type === 'recovery' || type === 'magiclink') {
    await tx.query(`update auth.users set recovery_token = '', updated_at = now() where id = $1`, [user.id]);
    if (!user.email_confirmed_at) await confirmEmail(tx, user.id);
  } else if (!(await verifyEmailChange(deps, tx, user, hash))) {
    return { kind: 'single_confirmation' };
  }
  return { kind: 'signed_in', userId: user.id };
}

/** Go's `url.Values.Encode`: keys sorted, `+` for spaces. */
function encodeSorted(params: Record<string, string>): string {
  const search = new URLSearchParams(Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return search.toString();
}

function withFragment(base: string, fragment: Record<string, string>, query: Record<string, string> = {}): string {
  const url = new URL(base);
  for (const [key, value] of Object.entries(query)) url.searchParams.set(key, value);
  url.hash = '';
  return `${url.toString()}#${encodeSorted(fragment)}`;
}

function redirect(location: string): Response {
  return new Response(null, { status: 303, headers: { location } });
}

/** A random password for an invited user, hashed before the transaction (hashing is slow). */
async function invitePasswordFor(type: string): Promise<string | undefined> {
  return type === 'invite' ? hashPassword(randomBytes(48).toString('base64url')) : undefined;
}

/**
 * `GET /verify?token=&type=&redirect_to=`: the link in a mail. Redirects (303) to the allowed `redirect_to` (else
 * `site_url`) with the session in the fragment, or with `?code=` when the mail belonged to a PKCE flow, or with the
 * error in the fragment (and query, under PKCE).
 */
export async function verifyGet(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.verify, request);
  const url = new URL(request.url);
  rejectNulInQuery(url);
  const type = url.searchParams.get('type') ?? '';
  const token = url.searchParams.get('token') ?? '';
  if (!type) throw new AuthError(400, 'validation_failed', 'Verify requires a verification type');
  if (!token) throw new AuthError(400, 'validation_failed', 'Verify requires a token or a token hash');
  const back = referrer(deps.settings, request);
  const pkce = token.startsWith(PKCE_PREFIX);
  const invitePassword = await invitePasswordFor(type);
  const grantParams = grantParamsFrom(request);
  try {
    const outcome = await deps.db.tx(async (tx) => {
      if (!isEmailType(type)) throw new AuthError(400, 'validation_failed', 'Invalid email verification type');
      const found = await userByTokenHash(deps, tx, type, token);
      const verified = await applyVerification(deps, tx, found.user, found.type, token, invitePassword);
      if (verified.kind === 'single_confirmation') return { kind: 'message' as const };
      if (pkce) return { kind: 'code' as const, code: await issueAuthCode(tx, verified.userId, flowMethodOf(found.type)) };
      const grant = await createSession(tx, verified.userId, 'otp', grantParams);
      return { kind: 'session' as const, grant, user: await loadUserJson(tx, verified.userId) };
    });
    if (outcome.kind === 'message') {
      return redirect(withFragment(back, { message: SINGLE_CONFIRMATION, sb: '' }, pkce ? { message: SINGLE_CONFIRMATION } : {}));
    }
    if (outcome.kind === 'code') {
      const target = new URL(back);
      target.searchParams.set('code', outcome.code);
      return redirect(target.toString());
    }
    const session = await sessionResponse(deps.jwt, deps.settings, outcome.grant, outcome.user);
    return redirect(
      `${back}#${encodeSorted({
        access_token: session.access_token,
        expires_at: String(session.expires_at),
        expires_in: String(session.expires_in),
        refresh_token: session.refresh_token,
        sb: '',
        token_type: session.token_type,
        type,
      })}`,
    );
  } catch (error) {
    if (!(error instanceof AuthError) || error.status >= 500) throw error;
    const details: Record<string, string> = { error_code: error.code, error_description: error.message };
    const oauth = OAUTH_ERRORS[error.status];
    if (oauth) details.error = oauth;
    return redirect(withFragment(back, { ...details, sb: '' }, pkce ? details : {}));
  }
}

/**
 * `POST /verify` (supabase-js `verifyOtp`): `{type, token_hash}` or `{type, email, token}` → a session, or GoTrue's
 * `{msg, code}` when the first of two e-mail change confirmations arrives.
 */
export async function verifyPost(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.verify, request);
  const params = await readJson(request, VerifySchema);
  if (!params.type) throw new AuthError(400, 'validation_failed', 'Verify requires a verification type');
  if ((params.token === '') === (params.token_hash === '')) {
    throw new AuthError(400, 'validation_failed', 'Verify requires either a token or a token hash');
  }
  let email = '';
  if (params.token) {
    if (params.phone && !params.email) throw invalidToken();
    if (!params.email || params.phone) {
      throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided on verify');
    }
    try {
      email = validateEmail(params.email);
    } catch {
      throw new AuthError(422, 'validation_failed', 'Invalid email format');
    }
  } else if (params.email || params.phone || params.redirect_to) {
    throw new AuthError(400, 'validation_failed', 'Only the token_hash and type should be provided');
  }
  const type = params.type;
  if (type === 'sms' || type === 'phone_change') throw invalidToken();
  if (!isEmailType(type)) throw new AuthError(400, 'validation_failed', 'Unsupported verification type');
  const invitePassword = await invitePasswordFor(type);
  const grantParams = grantParamsFrom(request);
  type Outcome = { kind: 'message' } | { kind: 'session'; grant: SessionGrant; user: Record<string, unknown> };
  const outcome = await deps.db.tx(async (tx): Promise<Outcome> => {
    const found = params.token_hash
      ? await userByTokenHash(deps, tx, type, params.token_hash)
      : await userByCode(deps, tx, type, email, params.token);
    const verified = await applyVerification(deps, tx, found.user, found.type, found.hash, invitePassword);
    if (verified.kind === 'single_confirmation') return { kind: 'message' };
    const grant = await createSession(tx, verified.userId, 'otp', grantParams);
    return { kind: 'session', grant, user: await loadUserJson(tx, verified.userId) };
  });
  if (outcome.kind === 'message') return Response.json({ msg: SINGLE_CONFIRMATION, code: '200' });
  return Response.json(await sessionResponse(deps.jwt, deps.settings, outcome.grant, outcome.user));
}
