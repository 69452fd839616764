import type { TxClient } from '../db/pool.ts';
import { readJson } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError, OAuthError, WeakPasswordError } from './errors.ts';
import { authenticateUser, type Caller } from './guards.ts';
import { isOtpValid, tokenHash } from './otp.ts';
import { checkPasswordStrength, hashPassword, verifyPassword } from './passwords.ts';
import { createFlowState, pkceChallenge, redeemAuthCode, type PkceChallenge } from './pkce.ts';
import { limitRequest } from './rate-limit.ts';
import { referrer } from './redirects.ts';
import { PasswordGrantSchema, PkceGrantSchema, RefreshGrantSchema, SignupSchema, UserUpdateSchema } from './schemas.ts';
import { sendConfirmation, sendEmailChange } from './send.ts';
import { createSession, grantParamsFrom, logout, refreshSession, type LogoutScope, type SessionGrant } from './sessions.ts';
import { ADMIN_ROLES, DEFAULT_AUD, DEFAULT_ROLE } from './settings.ts';
import { sessionResponse } from './tokens.ts';
import {
  conflictFromUniqueViolation,
  findDuplicateEmail,
  findUserByEmail,
  findUserById,
  findUserByPhone,
  insertEmailUser,
  insertUser,
  isBanned,
  loadUserJson,
  mergeMetadata,
  type UserJson,
} from './users.ts';
import { validateEmail, validatePhone } from './validation.ts';
import { applyEmailChange } from './verify.ts';

/** A JSON response with GoTrue's content type. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Runs a write transaction, turning a unique violation on `auth.users` into GoTrue's conflict error. */
async function writeTx<T>(deps: AuthDeps, code: 'user_already_exists' | 'email_exists', fn: (tx: TxClient) => Promise<T>): Promise<T> {
  try {
    return await deps.db.tx(fn);
  } catch (error) {
    return conflictFromUniqueViolation(error, code);
  }
}

async function respondWithSession(deps: AuthDeps, grant: SessionGrant, user: UserJson, weak?: WeakPasswordError): Promise<Response> {
  const body = await sessionResponse(deps.jwt, deps.settings, grant, user);
  if (weak) body.weak_password = { message: weak.message, reasons: weak.reasons };
  return json(body);
}

/** What GoTrue answers a repeated sign-up when confirmations are on: a plausible user that reveals nothing. */
function obfuscatedUser(email: string, data: Record<string, unknown>): UserJson {
  const now = new Date().toISOString();
  return {
    id: crypto.randomUUID(),
    aud: DEFAULT_AUD,
    role: '',
    email,
    phone: '',
    confirmation_sent_at: now,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: data,
    identities: [],
    created_at: now,
    updated_at: now,
    is_anonymous: false,
  };
}

async function signupAnonymously(deps: AuthDeps, request: Request, data: Record<string, unknown>): Promise<Response> {
  const grantParams = grantParamsFrom(request);
  const { grant, user } = await writeTx(deps, 'user_already_exists', async (tx) => {
    const id = crypto.randomUUID();
    await insertUser(tx, {
      id,
      aud: DEFAULT_AUD,
      role: DEFAULT_ROLE,
      email: null,
      phone: null,
      encryptedPassword: '',
      appMetadata: {},
      userMetadata: data,
      emailConfirmed: false,
      phoneConfirmed: false,
      confirmationSent: false,
      bannedUntil: null,
      isAnonymous: true,
    });
    const grant = await createSession(tx, id, 'anonymous', grantParams);
    return { grant, user: await loadUserJson(tx, id) };
  });
  return respondWithSession(deps, grant, user);
}

/** An e-mail sign-up, from `/signup` or on behalf of `/otp` for a new address. */
export interface EmailSignup {
  email: string;
  /** Already hashed: hashing happens before any transaction. */
  encryptedPassword: string;
  data: Record<string, unknown>;
  /** The PKCE challenge when the confirmation mail belongs to a PKCE flow. */
  pkce?: PkceChallenge;
  /** Where the confirmation link returns to. */
  referrer: string;
  /** Send the confirmation mail (false for `generate_link`, which only returns the link). */
  sendMail: boolean;
}

/** What a sign-up did: nothing (a confirmed user has the address), left a user to confirm, or signed one in. */
export type SignupOutcome =
  | { kind: 'exists'; userId: string }
  | { kind: 'user'; userId: string }
  | { kind: 'session'; userId: string; grant: SessionGrant };

/**
 * The core of GoTrue's `Signup` for an e-mail address, in one transaction: a new user (confirmed at once with
 * autoconfirm, else sent a confirmation mail), or for an unconfirmed existing user the confirmation sent again
 * (within `max_frequency`).
 */
export async function registerEmailUser(deps: AuthDeps, request: Request, tx: TxClient, params: EmailSignup): Promise<SignupOutcome> {
  const { settings } = deps;
  const { email, data } = params;
  const existing = await findDuplicateEmail(tx, email, DEFAULT_AUD);
  if (existing?.email_confirmed_at) return { kind: 'exists', userId: existing.id };
  if (existing) {
    // Left as it is (GoTrue cannot be sure the caller owns the address); only the confirmation goes out again.
    if (params.sendMail && !settings.mailerAutoconfirm) {
      if (params.pkce) await createFlowState(tx, existing.id, 'email/signup', params.pkce);
      await sendConfirmation(deps, tx, (await findUserById(tx, existing.id))!, { referrer: params.referrer, pkce: !!params.pkce });
    }
    return { kind: 'user', userId: existing.id };
  }
  const id = await insertEmailUser(tx, email, params.encryptedPassword, {
    metadata: data,
    asSignup: true,
    confirmed: settings.mailerAutoconfirm,
  });
  if (!settings.mailerAutoconfirm) {
    if (params.sendMail) {
      if (params.pkce) await createFlowState(tx, id, 'email/signup', params.pkce);
      await sendConfirmation(deps, tx, (await findUserById(tx, id))!, { referrer: params.referrer, pkce: !!params.pkce });
    }
    return { kind: 'user', userId: id };
  }
  return { kind: 'session', userId: id, grant: await createSession(tx, id, 'password', grantParamsFrom(request)) };
}

/**
 * `POST /signup`. With autoconfirm (confirmations off, the CLI default) the user is confirmed and signed in at
 * once and the answer is a session; otherwise it is the bare, unconfirmed user, and a confirmation mail is sent.
 */
export async function signup(deps: AuthDeps, request: Request): Promise<Response> {
  const { settings } = deps;
  if (settings.disableSignup) throw new AuthError(422, 'signup_disabled', 'Signups not allowed for this instance');
  const params = await readJson(request, SignupSchema);
  const data = params.data ?? {};
  if (!params.email && !params.phone) {
    if (!settings.anonymousEnabled) throw new AuthError(422, 'anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
    limitRequest(deps.limiters.anonymous, request);
    return signupAnonymously(deps, request, data);
  }
  limitRequest(deps.limiters.signups, request);
  if (!params.password) throw new AuthError(400, 'validation_failed', 'Signup requires a valid password');
  checkPasswordStrength(params.password, settings);
  if (params.email && params.phone) {
    throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided on signup.');
  }
  if (params.phone) throw new AuthError(400, 'phone_provider_disabled', 'Phone signups are disabled');
  if (!settings.emailEnabled) throw new AuthError(400, 'email_provider_disabled', 'Email signups are disabled');
  const email = validateEmail(params.email);
  const pkce = pkceChallenge(params.code_challenge, params.code_challenge_method);

  const encryptedPassword = await hashPassword(params.password);
  const outcome = await writeTx(deps, 'user_already_exists', (tx) =>
    registerEmailUser(deps, request, tx, {
      email,
      encryptedPassword,
      data,
      pkce,
      referrer: referrer(settings, request),
      sendMail: true,
    }),
  );

  if (outcome.kind === 'exists') {
    if (settings.mailerAutoconfirm) throw new AuthError(422, 'user_already_exists', 'User already registered');
    return json(obfuscatedUser(email, data));
  }
  const user = await deps.db.tx((tx) => loadUserJson(tx, outcome.userId), { readOnly: true });
  if (outcome.kind === 'user') return json(user);
  return respondWithSession(deps, outcome.grant, user);
}

async function passwordGrant(deps: AuthDeps, request: Request): Promise<Response> {
  const { settings } = deps;
  const params = await readJson(request, PasswordGrantSchema);
  if (params.email && params.phone) {
    throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided on login.');
  }
  if (!params.email && !params.phone) throw new AuthError(400, 'validation_failed', 'missing email or phone');
  if (params.email && !settings.emailEnabled) throw new AuthError(422, 'email_provider_disabled', 'Email logins are disabled');
  if (params.phone) throw new AuthError(422, 'phone_provider_disabled', 'Phone logins are disabled');

  const invalid = new AuthError(400, 'invalid_credentials', 'Invalid login credentials');
  const user = await deps.db.tx((tx) => findUserByEmail(tx, params.email, DEFAULT_AUD), { readOnly: true });
  // Exactly one bcrypt comparison whatever the address (a dummy hash stands in for a missing one), so the time taken
  // does not tell registered addresses from unknown ones.
  const matches = await verifyPassword(params.password, user?.encrypted_password);
  if (!user || !user.encrypted_password) throw invalid;
  if (isBanned(user)) throw new AuthError(400, 'user_banned', 'User is banned');
  if (!matches) throw invalid;

  let weak: WeakPasswordError | undefined;
  try {
    checkPasswordStrength(params.password, settings);
  } catch (error) {
    if (error instanceof WeakPasswordError) weak = error;
  }
  if (!user.email_confirmed_at) throw new AuthError(400, 'email_not_confirmed', 'Email not confirmed');

  const grantParams = grantParamsFrom(request);
  const { grant, userJson } = await deps.db.tx(async (tx) => {
    const grant = await createSession(tx, user.id, 'password', grantParams);
    return { grant, userJson: await loadUserJson(tx, user.id) };
  });
  return respondWithSession(deps, grant, userJson, weak);
}

async function refreshTokenGrant(deps: AuthDeps, request: Request): Promise<Response> {
  const params = await readJson(request, RefreshGrantSchema);
  if (!params.refresh_token) throw new OAuthError('invalid_request', 'refresh_token required');
  const grantParams = grantParamsFrom(request);
  const outcome = await deps.db.tx(async (tx) => {
    const result = await refreshSession(tx, params.refresh_token, deps.settings, grantParams);
    return result.ok ? { ...result, user: await loadUserJson(tx, result.grant.user.id) } : result;
  });
  // A detected reuse revokes the session's tokens; that commits before the error is returned.
  if (!outcome.ok) throw outcome.error;
  return respondWithSession(deps, outcome.grant, outcome.user);
}

/**
 * `grant_type=pkce` (GoTrue's `PKCE`): the auth code from a mailed link plus the verifier the client kept; one
 * session, and the flow is gone.
 */
async function pkceGrant(deps: AuthDeps, request: Request): Promise<Response> {
  const params = await readJson(request, PkceGrantSchema);
  if (!params.auth_code || !params.code_verifier) {
    throw new AuthError(400, 'validation_failed', 'invalid request: both auth code and code verifier should be non-empty');
  }
  const grantParams = grantParamsFrom(request);
  const { grant, user } = await deps.db.tx(async (tx) => {
    const flow = await redeemAuthCode(tx, params.auth_code, params.code_verifier);
    const row = await findUserById(tx, flow.userId);
    if (!row) throw new AuthError(404, 'user_not_found', 'User not found');
    if (isBanned(row)) throw new AuthError(400, 'user_banned', 'User is banned');
    const grant = await createSession(tx, row.id, flow.method, grantParams);
    return { grant, user: await loadUserJson(tx, row.id) };
  });
  return respondWithSession(deps, grant, user);
}

/** `POST /token?grant_type=password|refresh_token|pkce`, all under the `token_refresh` limit as in GoTrue. */
export async function token(deps: AuthDeps, request: Request): Promise<Response> {
  const grantType = new URL(request.url).searchParams.get('grant_type');
  const grants: Record<string, (deps: AuthDeps, request: Request) => Promise<Response>> = {
    password: passwordGrant,
    refresh_token: refreshTokenGrant,
    pkce: pkceGrant,
  };
  const grant = grantType ? grants[grantType] : undefined;
  if (!grant) throw new AuthError(400, 'invalid_credentials', 'unsupported_grant_type');
  limitRequest(deps.limiters.token, request);
  return grant(deps, request);
}

/** `GET /user`: the caller's user object. */
export async function getUser(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  const aud = Array.isArray(caller.claims.aud) ? caller.claims.aud[0] : caller.claims.aud;
  if (aud !== DEFAULT_AUD) throw new AuthError(400, 'validation_failed', "Token audience doesn't match request audience");
  return json(await deps.db.tx((tx) => loadUserJson(tx, caller.user.id), { readOnly: true }));
}

/**
 * GoTrue's reauthentication check for a password change with `secure_password_change`: a session younger than
 * 24 hours may change the password as it is; an older one (or none) needs the `nonce` mailed by `/reauthenticate`.
 */
async function requireReauthentication(deps: AuthDeps, caller: Caller, nonce: string): Promise<void> {
  const { rows } = caller.sessionId
    ? await deps.db.query<{ recent: boolean }>(`select created_at > now() - interval '24 hours' as recent from auth.sessions where id = $1`, [
        caller.sessionId,
      ])
    : { rows: [] };
  if (rows[0]?.recent) return;
  if (!nonce) throw new AuthError(400, 'reauthentication_needed', 'Password update requires reauthentication');
  const { user } = caller;
  const invalid = new AuthError(422, 'reauthentication_not_valid', 'Nonce has expired or is invalid');
  const { rows: tokens } = await deps.db.query<{ token: string | null; sent_at: Date | null }>(
    'select reauthentication_token as token, reauthentication_sent_at as sent_at from auth.users where id = $1',
    [user.id],
  );
  const stored = tokens[0];
  if (!user.email || !stored?.token || !stored.sent_at) throw invalid;
  if (!isOtpValid(tokenHash(user.email, nonce), stored.token, stored.sent_at, deps.settings.otpExpiry)) throw invalid;
}

/**
 * `PUT /user`: metadata, password (other sessions end, as in GoTrue; with `secure_password_change` an old session
 * needs the reauthentication nonce), e-mail and phone changes. A new e-mail address is confirmed by mail — to the new
 * address and, with `double_confirm_changes`, the current one — and waits in `new_email` until then; an anonymous
 * user with autoconfirm gets it at once. No SMS exists here, so a new phone number is only recorded as pending.
 */
export async function updateUser(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  limitRequest(deps.limiters.user, request);
  const params = await readJson(request, UserUpdateSchema);
  const { user } = caller;
  const { settings } = deps;
  const email = params.email ? validateEmail(params.email) : '';
  const phone = params.phone ? validatePhone(params.phone) : '';
  const pkce = pkceChallenge(params.code_challenge, params.code_challenge_method);
  if (params.password !== null && params.password !== undefined) checkPasswordStrength(params.password, settings);
  if (params.app_metadata && !ADMIN_ROLES.includes(user.role ?? '')) {
    throw new AuthError(403, 'not_admin', 'Updating app_metadata requires admin privileges');
  }
  if (user.is_anonymous && params.password && !email && !phone) {
    throw new AuthError(422, 'validation_failed', 'Updating password of an anonymous user without an email or phone is not allowed');
  }

  const changingEmail = email !== '' && email !== (user.email ?? '');
  const changingPhone = phone !== '' && phone !== (user.phone ?? '');
  let encryptedPassword: string | undefined;
  if (params.password !== null && params.password !== undefined) {
    if (settings.passwordChangeNeedsReauthentication) await requireReauthentication(deps, caller, params.nonce);
    if (params.password !== '' && (await verifyPassword(params.password, user.encrypted_password))) {
      throw new AuthError(422, 'same_password', 'New password should be different from the old password.');
    }
    encryptedPassword = params.password === '' ? '' : await hashPassword(params.password);
  }

  const body = await writeTx(deps, 'email_exists', async (tx) => {
    if (changingEmail && (await findDuplicateEmail(tx, email, user.aud ?? DEFAULT_AUD, user.id))) {
      throw new AuthError(422, 'email_exists', 'A user with this email address has already been registered');
    }
    if (changingPhone && (await findUserByPhone(tx, phone, user.aud ?? DEFAULT_AUD))) {
      throw new AuthError(422, 'phone_exists', 'A user with this phone number has already been registered');
    }
    if (encryptedPassword !== undefined) {
      await tx.query(
        `update auth.users set encrypted_password = $2, updated_at = now(), confirmation_token = '', confirmation_sent_at = null,
            recovery_token = '', recovery_sent_at = null, email_change_token_current = '', email_change_token_new = '',
            email_change_sent_at = null, phone_change_token = '', phone_change_sent_at = null,
            reauthentication_token = '', reauthentication_sent_at = null
          where id = $1`,
        [user.id, encryptedPassword],
      );
      await logout(tx, user.id, caller.sessionId, 'others');
    }
    if (params.data) await mergeMetadata(tx, user.id, 'raw_user_meta_data', params.data);
    if (params.app_metadata) await mergeMetadata(tx, user.id, 'raw_app_meta_data', params.app_metadata);
    if (changingEmail) {
      const current = await findUserById(tx, user.id, true);
      if (!current) throw new AuthError(404, 'user_not_found', 'User not found');
      if (current.is_anonymous && settings.mailerAutoconfirm) {
        await applyEmailChange(tx, current, email);
      } else {
        if (pkce) await createFlowState(tx, user.id, 'email_change', pkce);
        await sendEmailChange(deps, tx, current, email, { referrer: referrer(settings, request), pkce: !!pkce });
      }
    }
    if (changingPhone) {
      await tx.query('update auth.users set phone_change = $2, phone_change_sent_at = now(), updated_at = now() where id = $1', [
        user.id,
        phone,
      ]);
    }
    return loadUserJson(tx, user.id);
  });
  return json(body);
}

const LOGOUT_SCOPES: readonly string[] = ['global', 'local', 'others'];

/** `POST /logout?scope=global|local|others` → 204; the request body is never read. */
export async function logoutUser(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  const scope = new URL(request.url).searchParams.get('scope') || 'global';
  if (!LOGOUT_SCOPES.includes(scope)) {
    throw new AuthError(400, 'validation_failed', `Unsupported logout scope ${JSON.stringify(scope)}`);
  }
  await deps.db.tx((tx) => logout(tx, caller.user.id, caller.sessionId, scope as LogoutScope));
  return new Response(null, { status: 204 });
}
