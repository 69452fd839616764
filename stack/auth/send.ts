import type { TxClient } from '../db/pool.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError } from './errors.ts';
import { sendTemplate, type TemplateType } from './mailer.ts';
import { generateOtp, PKCE_PREFIX, tokenHash } from './otp.ts';
import { limitEmail } from './rate-limit.ts';
import type { UserRow } from './users.ts';

/** Where a mail is being sent from: the request (for `redirect_to`) and whether it belongs to a PKCE flow. */
export interface MailRequest {
  /** The allowed `redirect_to` (or `site_url`) the link returns to. */
  referrer: string;
  /** Store the token hash with the `pkce_` prefix, so `/verify` answers with an auth code. */
  pkce?: boolean;
}

/** GoTrue's `max_frequency` check: 429 `over_email_send_rate_limit` while the last mail of this kind is too recent. */
function checkFrequency(deps: AuthDeps, sentAt: Date | null): void {
  if (!sentAt) return;
  const leftMs = new Date(sentAt).getTime() + deps.settings.mailMaxFrequencyMs - Date.now();
  if (leftMs > 0) {
    const seconds = Math.floor(leftMs / 1000);
    throw new AuthError(
      429,
      'over_email_send_rate_limit',
      `For security purposes, you can only request this after ${seconds} seconds.`,
      { 'retry-after': String(Math.max(1, Math.ceil(leftMs / 1000))) },
    );
  }
}

/** A mail link: `<auth>/verify?token=<hash>&type=<type>&redirect_to=<url>`, as GoTrue builds it. */
export function actionLink(deps: AuthDeps, hash: string, type: string, referrer: string): string {
  const redirect = /[&=#]/.test(referrer) ? encodeURIComponent(referrer) : referrer;
  return `${deps.settings.issuer}/verify?token=${encodeURIComponent(hash)}&type=${encodeURIComponent(type)}&redirect_to=${redirect}`;
}

/** A new code for `address` and the hash to store (with the PKCE prefix when asked). */
export function newToken(deps: AuthDeps, address: string, pkce = false): { otp: string; hash: string } {
  const otp = generateOtp(deps.settings.otpLength);
  return { otp, hash: (pkce ? PKCE_PREFIX : '') + tokenHash(address, otp) };
}

async function mail(
  deps: AuthDeps,
  type: TemplateType,
  to: string,
  user: UserRow,
  data: Record<string, unknown>,
): Promise<void> {
  // GoTrue applies the instance-wide mail limit only when confirmations are required.
  if (!deps.settings.mailerAutoconfirm) limitEmail(deps.limiters);
  await sendTemplate(deps.mail, deps.mailer, type, to, {
    SiteURL: deps.settings.siteUrl,
    Email: user.email ?? '',
    Data: user.raw_user_meta_data ?? {},
    ...data,
  });
}

/** Sends the sign-up confirmation and stores its token (GoTrue's `sendConfirmation`). */
export async function sendConfirmation(deps: AuthDeps, tx: TxClient, user: UserRow, req: MailRequest): Promise<void> {
  checkFrequency(deps, user.confirmation_sent_at);
  const email = user.email ?? '';
  const { otp, hash } = newToken(deps, email, req.pkce);
  await mail(deps, 'confirmation', email, user, {
    ConfirmationURL: actionLink(deps, hash, 'signup', req.referrer),
    Token: otp,
    TokenHash: hash,
    RedirectTo: req.referrer,
  });
  await tx.query('update auth.users set confirmation_token = $2, confirmation_sent_at = now() where id = $1', [user.id, hash]);
}

/** Sends an invitation and stores its token (GoTrue's `sendInvite`; no frequency limit). */
export async function sendInvite(deps: AuthDeps, tx: TxClient, user: UserRow, req: MailRequest): Promise<void> {
  const email = user.email ?? '';
  const { otp, hash } = newToken(deps, email);
  await mail(deps, 'invite', email, user, {
    ConfirmationURL: actionLink(deps, hash, 'invite', req.referrer),
    Token: otp,
    TokenHash: hash,
    RedirectTo: req.referrer,
  });
  await tx.query(
    'update auth.users set confirmation_token = $2, confirmation_sent_at = now(), invited_at = now() where id = $1',
    [user.id, hash],
  );
}

/** Sends a password-reset (`recovery`) or sign-in (`magiclink`) link; both use the recovery token. */
export async function sendRecoveryOrMagicLink(
  deps: AuthDeps,
  tx: TxClient,
  user: UserRow,
  kind: 'recovery' | 'magiclink',
  req: MailRequest,
): Promise<void> {
  // A magic link is a recovery with another template, so it shares the recovery timer, as in GoTrue.
  checkFrequency(deps, user.recovery_sent_at);
  const email = user.email ?? '';
  const { otp, hash } = newToken(deps, email, req.pkce);
  await mail(deps, kind === 'recovery' ? 'recovery' : 'magic_link', email, user, {
    ConfirmationURL: actionLink(deps, hash, kind, req.referrer),
    Token: otp,
    TokenHash: hash,
    RedirectTo: req.referrer,
  });
  await tx.query('update auth.users set recovery_token = $2, recovery_sent_at = now() where id = $1', [user.id, hash]);
}

/** Sends the reauthentication code (the `nonce` of a secure password change). */
export async function sendReauthentication(deps: AuthDeps, tx: TxClient, user: UserRow): Promise<void> {
  checkFrequency(deps, user.reauthentication_sent_at);
  const email = user.email ?? '';
  const { otp, hash } = newToken(deps, email);
  await mail(deps, 'reauthentication', email, user, { Token: otp });
  await tx.query(
    'update auth.users set reauthentication_token = $2, reauthentication_sent_at = now() where id = $1',
    [user.id, hash],
  );
}

/**
 * Starts an e-mail change (GoTrue's `sendEmailChange`): a link to the new address and, with
 * `double_confirm_changes`, one to the current address; the change waits in `email_change` until confirmed.
 */
export async function sendEmailChange(deps: AuthDeps, tx: TxClient, user: UserRow, newEmail: string, req: MailRequest): Promise<void> {
  checkFrequency(deps, user.email_change_sent_at);
  const next = newToken(deps, newEmail, req.pkce);
  const current = deps.settings.secureEmailChange && user.email ? newToken(deps, user.email, req.pkce) : undefined;
  const common = { NewEmail: newEmail, RedirectTo: req.referrer };
  await mail(deps, 'email_change', newEmail, user, {
    ...common,
    ConfirmationURL: actionLink(deps, next.hash, 'email_change', req.referrer),
    Token: next.otp,
    TokenHash: next.hash,
    SendingTo: newEmail,
  });
  if (current && user.email) {
    await mail(deps, 'email_change', user.email, user, {
      ...common,
      ConfirmationURL: actionLink(deps, current.hash, 'email_change', req.referrer),
      Token: current.otp,
      TokenHash: current.hash,
      SendingTo: user.email,
    });
  }
  await tx.query(
    `update auth.users set email_change = $2, email_change_token_new = $3, email_change_token_current = $4,
        email_change_sent_at = now(), email_change_confirm_status = 0, updated_at = now()
      where id = $1`,
    [user.id, newEmail, next.hash, current?.hash ?? ''],
  );
}
