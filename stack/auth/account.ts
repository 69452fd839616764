import { randomBytes } from 'node:crypto';
import type { TxClient } from '../db/pool.ts';
import { readJson } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError, OAuthError, WeakPasswordError } from './errors.ts';
import { authenticateUser } from './guards.ts';
import { checkPasswordStrength, hashPassword, verifyPassword } from './passwords.ts';
import { PasswordGrantSchema, RefreshGrantSchema, SignupSchema, UserUpdateSchema } from './schemas.ts';
import { createSession, grantParamsFrom, logout, refreshSession, type LogoutScope, type SessionGrant } from './sessions.ts';
import { ADMIN_ROLES, DEFAULT_AUD, DEFAULT_ROLE } from './settings.ts';
import { sessionResponse } from './tokens.ts';
import {
  conflictFromUniqueViolation,
  findDuplicateEmail,
  findUserByEmail,
  findUserByPhone,
  insertIdentity,
  insertUser,
  isBanned,
  loadUserJson,
  mergeMetadata,
  type UserJson,
} from './users.ts';
import { validateEmail, validatePhone } from './validation.ts';

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

/**
 * `POST /signup`. With autoconfirm (confirmations off, the CLI default) the user is confirmed and signed in at
 * once and the answer is a session; otherwise it is the bare, unconfirmed user.
 */
export async function signup(deps: AuthDeps, request: Request): Promise<Response> {
  const { settings } = deps;
  if (settings.disableSignup) throw new AuthError(422, 'signup_disabled', 'Signups not allowed for this instance');
  const params = await readJson(request, SignupSchema);
  const data = params.data ?? {};
  if (!params.email && !params.phone) {
    if (!settings.anonymousEnabled) throw new AuthError(422, 'anonymous_provider_disabled', 'Anonymous sign-ins are disabled');
    return signupAnonymously(deps, request, data);
  }
  if (!params.password) throw new AuthError(400, 'validation_failed', 'Signup requires a valid password');
  checkPasswordStrength(params.password, settings);
  if (params.email && params.phone) {
    throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided on signup.');
  }
  if (params.phone) throw new AuthError(400, 'phone_provider_disabled', 'Phone signups are disabled');
  if (!settings.emailEnabled) throw new AuthError(400, 'email_provider_disabled', 'Email signups are disabled');
  const email = validateEmail(params.email);

  const encryptedPassword = await hashPassword(params.password);
  const grantParams = grantParamsFrom(request);
  const outcome = await writeTx(deps, 'user_already_exists', async (tx) => {
    const existing = await findDuplicateEmail(tx, email, DEFAULT_AUD);
    if (existing?.email_confirmed_at) return { kind: 'exists' as const };
    if (existing) {
      // Unconfirmed: GoTrue leaves the user as it is and sends the confirmation again.
      await tx.query('update auth.users set confirmation_sent_at = now(), updated_at = now() where id = $1', [existing.id]);
      return { kind: 'user' as const, user: await loadUserJson(tx, existing.id) };
    }
    const id = crypto.randomUUID();
    const identityData: Record<string, unknown> = { sub: id, email, email_verified: false, phone_verified: false };
    for (const [key, value] of Object.entries(data)) if (!(key in identityData)) identityData[key] = value;
    await insertUser(tx, {
      id,
      aud: DEFAULT_AUD,
      role: DEFAULT_ROLE,
      email,
      phone: null,
      encryptedPassword,
      appMetadata: { provider: 'email', providers: ['email'] },
      // GoTrue replaces an unconfirmed user's metadata with the identity's, then confirming sets email_verified.
      userMetadata: settings.mailerAutoconfirm ? { ...identityData, email_verified: true } : identityData,
      emailConfirmed: settings.mailerAutoconfirm,
      phoneConfirmed: false,
      confirmationSent: !settings.mailerAutoconfirm,
      bannedUntil: null,
    });
    await insertIdentity(tx, id, 'email', identityData);
    if (!settings.mailerAutoconfirm) return { kind: 'user' as const, user: await loadUserJson(tx, id) };
    const grant = await createSession(tx, id, 'password', grantParams);
    return { kind: 'session' as const, grant, user: await loadUserJson(tx, id) };
  });

  if (outcome.kind === 'exists') {
    if (settings.mailerAutoconfirm) throw new AuthError(422, 'user_already_exists', 'User already registered');
    return json(obfuscatedUser(email, data));
  }
  if (outcome.kind === 'user') return json(outcome.user);
  return respondWithSession(deps, outcome.grant, outcome.user);
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
  if (!user || !user.encrypted_password) throw invalid;
  if (isBanned(user)) throw new AuthError(400, 'user_banned', 'User is banned');
  if (!(await verifyPassword(params.password, user.encrypted_password))) throw invalid;

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

/** `POST /token?grant_type=password|refresh_token`. */
export async function token(deps: AuthDeps, request: Request): Promise<Response> {
  const grantType = new URL(request.url).searchParams.get('grant_type');
  if (grantType === 'password') return passwordGrant(deps, request);
  if (grantType === 'refresh_token') return refreshTokenGrant(deps, request);
  throw new AuthError(400, 'invalid_credentials', 'unsupported_grant_type');
}

/** `GET /user`: the caller's user object. */
export async function getUser(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  const aud = Array.isArray(caller.claims.aud) ? caller.claims.aud[0] : caller.claims.aud;
  if (aud !== DEFAULT_AUD) throw new AuthError(400, 'validation_failed', "Token audience doesn't match request audience");
  return json(await deps.db.tx((tx) => loadUserJson(tx, caller.user.id), { readOnly: true }));
}

/**
 * `PUT /user`: metadata, password (other sessions end, as in GoTrue), e-mail and phone changes. No mail or SMS is
 * sent by the lite stack: a change of address is recorded as pending (`new_email` / `new_phone`), as GoTrue
 * records it before the user confirms.
 */
export async function updateUser(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  const params = await readJson(request, UserUpdateSchema);
  const { user } = caller;
  const email = params.email ? validateEmail(params.email) : '';
  const phone = params.phone ? validatePhone(params.phone) : '';
  if (params.password !== null && params.password !== undefined) checkPasswordStrength(params.password, deps.settings);
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
      await tx.query(
        `update auth.users set email_change = $2, email_change_sent_at = now(), email_change_confirm_status = 0,
            email_change_token_new = $3, updated_at = now()
          where id = $1`,
        [user.id, email, randomBytes(28).toString('hex')],
      );
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
