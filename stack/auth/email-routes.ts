import { randomBytes } from 'node:crypto';
import type { TxClient } from '../db/pool.ts';
import { json, registerEmailUser } from './account.ts';
import { readJson } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError } from './errors.ts';
import { authenticateUser } from './guards.ts';
import { actionLink, sendConfirmation, sendEmailChange, sendInvite, sendReauthentication, sendRecoveryOrMagicLink } from './send.ts';
import { generateOtp, tokenHash } from './otp.ts';
import { checkPasswordStrength, hashPassword } from './passwords.ts';
import { createFlowState, pkceChallenge } from './pkce.ts';
import { limitRequest } from './rate-limit.ts';
import { isRedirectUrlValid, referrer } from './redirects.ts';
import { GenerateLinkSchema, InviteSchema, MagicLinkSchema, OtpSchema, RecoverSchema, ResendSchema } from './schemas.ts';
import { DEFAULT_AUD } from './settings.ts';
import {
  findDuplicateEmail,
  findUserByEmail,
  findUserById,
  insertEmailUser,
  loadUserJson,
  mergeMetadata,
  type UserRow,
} from './users.ts';
import { validateEmail } from './validation.ts';

const DUPLICATE_EMAIL = 'A user with this email address has already been registered';

/** The user of an address, read outside any write (the flows below re-read it under their transaction). */
function userOf(deps: AuthDeps, email: string): Promise<UserRow | undefined> {
  return deps.db.tx((tx) => findUserByEmail(tx, email, DEFAULT_AUD), { readOnly: true });
}

/** A row locked for the mail's transaction. */
async function lockUser(tx: TxClient, id: string): Promise<UserRow> {
  const user = await findUserById(tx, id, true);
  if (!user) throw new AuthError(404, 'user_not_found', 'User not found');
  return user;
}

/** A random password nobody knows, for users created by a link (magic link, invitation, generated sign-up). */
async function unguessablePassword(): Promise<string> {
  return hashPassword(randomBytes(48).toString('base64url'));
}

/**
 * `POST /recover` (`resetPasswordForEmail`): a password-reset mail to a known address; 200 `{}` either way, so the
 * answer does not reveal which addresses are registered.
 */
export async function recover(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.recover, request);
  if (!deps.settings.emailEnabled) throw new AuthError(400, 'email_provider_disabled', 'Email logins are disabled');
  const params = await readJson(request, RecoverSchema);
  if (!params.email) throw new AuthError(400, 'validation_failed', 'Password recovery requires an email');
  const email = validateEmail(params.email);
  const pkce = pkceChallenge(params.code_challenge, params.code_challenge_method);
  const found = await userOf(deps, email);
  if (!found) return json({});
  await deps.db.tx(async (tx) => {
    if (pkce) await createFlowState(tx, found.id, 'recovery', pkce);
    const back = referrer(deps.settings, request);
    await sendRecoveryOrMagicLink(deps, tx, await lockUser(tx, found.id), 'recovery', { referrer: back, pkce: !!pkce });
  });
  return json({});
}

/** What `/otp` and `/magiclink` both carry. */
interface MagicLinkParams {
  email: string;
  data?: Record<string, unknown>;
  code_challenge: string;
  code_challenge_method: string;
}

/**
 * GoTrue's `MagicLink`: a sign-in link (and code) for a confirmed user; a new or unconfirmed address is signed up
 * first — confirmed at once with autoconfirm (then sent the sign-in mail), else sent the sign-up confirmation.
 */
async function magicLink(deps: AuthDeps, request: Request, params: MagicLinkParams): Promise<Response> {
  const { settings } = deps;
  if (!settings.emailEnabled) throw new AuthError(422, 'email_provider_disabled', 'Email logins are disabled');
  if (!params.email) throw new AuthError(422, 'validation_failed', 'Password recovery requires an email');
  const email = validateEmail(params.email);
  const pkce = pkceChallenge(params.code_challenge, params.code_challenge_method);
  const back = referrer(settings, request);
  let found = await userOf(deps, email);
  if (!found || !found.email_confirmed_at) {
    if (settings.disableSignup && !found) throw new AuthError(422, 'signup_disabled', 'Signups not allowed for this instance');
    const encryptedPassword = await unguessablePassword();
    const data = params.data ?? {};
    await deps.db.tx((tx) =>
      registerEmailUser(deps, request, tx, { email, encryptedPassword, data, pkce, referrer: back, sendMail: true }),
    );
    if (!settings.mailerAutoconfirm) return json({});
    found = await userOf(deps, email);
    if (!found) throw new AuthError(404, 'user_not_found', 'User not found');
  }
  const userId = found.id;
  await deps.db.tx(async (tx) => {
    if (pkce) await createFlowState(tx, userId, 'magiclink', pkce);
    await sendRecoveryOrMagicLink(deps, tx, await lockUser(tx, userId), 'magiclink', { referrer: back, pkce: !!pkce });
  });
  return json({});
}

/** `POST /otp` (`signInWithOtp` with an e-mail): a magic link and a code; `create_user: false` refuses new addresses. */
export async function otp(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.otp, request);
  const params = await readJson(request, OtpSchema);
  if (params.email && params.phone) {
    throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided');
  }
  if (params.email && params.channel) {
    throw new AuthError(400, 'validation_failed', 'Channel should only be specified with Phone OTP');
  }
  pkceChallenge(params.code_challenge, params.code_challenge_method);
  if (params.phone) throw new AuthError(400, 'phone_provider_disabled', 'Unsupported phone provider');
  if (!params.email) throw new AuthError(400, 'validation_failed', 'One of email or phone must be set');
  if (!params.create_user) {
    const email = validateEmail(params.email);
    if (!(await userOf(deps, email))) throw new AuthError(422, 'otp_disabled', 'Signups not allowed for otp');
  }
  return magicLink(deps, request, params);
}

/** `POST /magiclink`: the older entry point to the same flow. */
export async function magicLinkRoute(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.magicLink, request);
  return magicLink(deps, request, await readJson(request, MagicLinkSchema));
}

/** `POST /resend`: the sign-up confirmation or the e-mail change mails again; `{}` when there is nothing to resend. */
export async function resend(deps: AuthDeps, request: Request): Promise<Response> {
  limitRequest(deps.limiters.resend, request);
  const params = await readJson(request, ResendSchema);
  const type = params.type;
  if (type !== 'signup' && type !== 'email_change' && type !== 'sms' && type !== 'phone_change') {
    throw new AuthError(400, 'validation_failed', 'Missing one of these types: signup, email_change, sms, phone_change');
  }
  const pkce = type === 'signup' || type === 'email_change' ? pkceChallenge(params.code_challenge, params.code_challenge_method) : undefined;
  if (!params.email && type === 'signup') throw new AuthError(400, 'validation_failed', 'Type provided requires an email address');
  if (!params.phone && type === 'sms') throw new AuthError(400, 'validation_failed', 'Type provided requires a phone number');
  if (params.email && params.phone) {
    throw new AuthError(400, 'validation_failed', 'Only an email address or phone number should be provided.');
  }
  if (params.phone) throw new AuthError(400, 'phone_provider_disabled', 'Phone logins are disabled');
  if (!params.email) throw new AuthError(400, 'validation_failed', 'Missing email address or phone number');
  if (!deps.settings.emailEnabled) throw new AuthError(400, 'email_provider_disabled', 'Email logins are disabled');
  const email = validateEmail(params.email);
  const found = await userOf(deps, email);
  if (!found) return json({});
  if (type === 'signup' && found.email_confirmed_at) return json({});
  if (type === 'email_change' && !found.email_change) return json({});
  if (type !== 'signup' && type !== 'email_change') return json({});
  const back = referrer(deps.settings, request);
  await deps.db.tx(async (tx) => {
    const user = await lockUser(tx, found.id);
    if (type === 'signup') {
      if (pkce) await createFlowState(tx, user.id, 'email/signup', pkce);
      await sendConfirmation(deps, tx, user, { referrer: back, pkce: !!pkce });
    } else {
      if (pkce) await createFlowState(tx, user.id, 'email_change', pkce);
      await sendEmailChange(deps, tx, user, user.email_change ?? '', { referrer: back, pkce: !!pkce });
    }
  });
  return json({});
}

/** `GET /reauthenticate`: mails the signed-in user the code that a secure password change needs as `nonce`. */
export async function reauthenticate(deps: AuthDeps, request: Request): Promise<Response> {
  const caller = await authenticateUser(deps.db, deps.jwt, request);
  const { user } = caller;
  if (!user.email && !user.phone) {
    throw new AuthError(400, 'validation_failed', 'Reauthentication requires the user to have an email or a phone number');
  }
  if (!user.email) throw new AuthError(400, 'phone_provider_disabled', 'Unsupported phone provider');
  if (!user.email_confirmed_at) throw new AuthError(422, 'email_not_confirmed', 'Please verify your email first.');
  await deps.db.tx(async (tx) => sendReauthentication(deps, tx, await lockUser(tx, user.id)));
  return json({});
}

/** `POST /invite` (admin `inviteUserByEmail`): creates the user if needed and mails the invitation; 200 with the user. */
export async function invite(deps: AuthDeps, request: Request): Promise<Response> {
  const params = await readJson(request, InviteSchema);
  const email = validateEmail(params.email);
  const back = referrer(deps.settings, request);
  const body = await deps.db.tx(async (tx) => {
    const existing = await findUserByEmail(tx, email, DEFAULT_AUD);
    if (existing?.email_confirmed_at) throw new AuthError(422, 'email_exists', DUPLICATE_EMAIL);
    const id = existing?.id ?? (await insertEmailUser(tx, email, '', { metadata: params.data ?? {}, asSignup: false, confirmed: false }));
    await sendInvite(deps, tx, await lockUser(tx, id), { referrer: back });
    return loadUserJson(tx, id);
  });
  return json(body);
}

const LINK_TYPES = ['signup', 'invite', 'magiclink', 'recovery', 'email_change_current', 'email_change_new'];

/**
 * `POST /admin/generate_link` (admin `generateLink`): stores a token exactly as the matching mail would, sends
 * nothing, and returns the user with `action_link`, `email_otp`, `hashed_token`, `verification_type` and
 * `redirect_to`.
 */
export async function generateLink(deps: AuthDeps, request: Request): Promise<Response> {
  const { settings } = deps;
  const params = await readJson(request, GenerateLinkSchema);
  const email = validateEmail(params.email);
  const back = isRedirectUrlValid(settings, params.redirect_to) ? params.redirect_to : referrer(settings, request);
  let type = params.type;
  const found = await userOf(deps, email);
  let password = params.password;
  if (!found) {
    if (type === 'magiclink') {
      type = 'signup';
      password = randomBytes(48).toString('base64url');
    } else if (type === 'recovery' || type === 'email_change_current' || type === 'email_change_new') {
      throw new AuthError(404, 'user_not_found', 'User with this email not found');
    }
  }
  if (!LINK_TYPES.includes(type)) {
    throw new AuthError(400, 'validation_failed', `Invalid email action link type requested: ${type}`);
  }
  if (type === 'email_change_current' && !settings.secureEmailChange) {
    throw new AuthError(400, 'validation_failed', 'Enable secure email change to generate link for current email');
  }
  let encryptedPassword = '';
  if (type === 'signup' && !found) {
    if (!password) throw new AuthError(400, 'validation_failed', 'Signup requires a valid password');
    // A password the caller chose must be strong enough; one generated for a magic link is.
    if (password === params.password) checkPasswordStrength(password, settings);
    encryptedPassword = await hashPassword(password);
  }
  const newEmail = type.startsWith('email_change') ? validateEmail(params.new_email) : '';
  const otp = generateOtp(settings.otpLength);
  const hashed = tokenHash(email, otp);

  const result = await deps.db.tx(async (tx) => {
    let userId = found?.id;
    let linkHash = hashed;
    let linkType = type;
    if (type === 'magiclink' || type === 'recovery') {
      await tx.query('update auth.users set recovery_token = $2, recovery_sent_at = now() where id = $1', [userId, hashed]);
    } else if (type === 'invite' || type === 'signup') {
      if (found?.email_confirmed_at) throw new AuthError(422, 'email_exists', DUPLICATE_EMAIL);
      if (found && type === 'signup' && params.data) await mergeMetadata(tx, found.id, 'raw_user_meta_data', params.data);
      userId ??= await insertEmailUser(tx, email, encryptedPassword, { metadata: params.data ?? {}, asSignup: false, confirmed: false });
      await tx.query(
        `update auth.users set confirmation_token = $2, confirmation_sent_at = now(),
            invited_at = case when $3 then now() else invited_at end
          where id = $1`,
        [userId, hashed, type === 'invite'],
      );
    } else {
      if (await findDuplicateEmail(tx, newEmail, DEFAULT_AUD, userId)) throw new AuthError(422, 'email_exists', DUPLICATE_EMAIL);
      const current = type === 'email_change_current' ? hashed : '';
      const next = type === 'email_change_new' ? tokenHash(newEmail, otp) : '';
      linkHash = current || next;
      linkType = 'email_change';
      await tx.query(
        `update auth.users set email_change = $2, email_change_token_current = $3, email_change_token_new = $4,
            email_change_sent_at = now(), email_change_confirm_status = 0
          where id = $1`,
        [userId, newEmail, current, next],
      );
    }
    return { user: await loadUserJson(tx, userId!), linkHash, linkType };
  });
  return json({
    ...result.user,
    action_link: actionLink(deps, result.linkHash, result.linkType, back),
    email_otp: otp,
    hashed_token: result.linkHash,
    verification_type: type,
    redirect_to: back,
  });
}

