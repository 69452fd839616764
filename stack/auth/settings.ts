import type { StackContext } from '../context.ts';
import { parseGoDuration } from './validation.ts';

/** GoTrue's default and admin roles as the CLI configures them (`GOTRUE_JWT_DEFAULT_GROUP_NAME`, `GOTRUE_JWT_ADMIN_ROLES`). */
export const DEFAULT_ROLE = 'authenticated';
export const DEFAULT_AUD = 'authenticated';
export const ADMIN_ROLES: readonly string[] = ['service_role', 'supabase_admin'];

/**
 * The character sets each `[auth] password_requirements` value demands (what the CLI passes to GoTrue as
 * `GOTRUE_PASSWORD_REQUIRED_CHARACTERS`): the password needs one character from each set.
 */
const REQUIRED_CHARACTERS: Record<string, string[]> = {
  '': [],
  letters_digits: ['abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'],
  lower_upper_letters_digits: ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'],
  lower_upper_letters_digits_symbols: [
    'abcdefghijklmnopqrstuvwxyz',
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
    '0123456789',
    '!@#$%^&*()_+-=[]{};\'\\:"|<>?,./`~',
  ],
};

/** Everything the Auth API reads from `[auth]` in config.toml, resolved once at start. */
export interface AuthSettings {
  /** `iss` of user tokens: `<apiUrl>/auth/v1`, as the CLI sets `GOTRUE_JWT_ISSUER`. */
  issuer: string;
  /** Access-token lifetime in seconds. */
  jwtExpiry: number;
  disableSignup: boolean;
  emailEnabled: boolean;
  /** `!enable_confirmations`: new e-mail users are confirmed at once and get a session from sign-up. */
  mailerAutoconfirm: boolean;
  anonymousEnabled: boolean;
  refreshTokenRotation: boolean;
  /** Seconds during which a revoked refresh token may still be exchanged. */
  refreshTokenReuseInterval: number;
  minimumPasswordLength: number;
  requiredCharacters: string[];
  /** `site_url`: the default redirect and the base every allowed redirect is compared with. */
  siteUrl: string;
  /** `additional_redirect_urls`: GoTrue's `URI_ALLOW_LIST`, glob patterns. */
  redirectAllowList: string[];
  /** `double_confirm_changes`: an e-mail change needs a link from the old address as well as the new one. */
  secureEmailChange: boolean;
  /** `secure_password_change`: a password change needs a reauthentication nonce unless the session is recent. */
  passwordChangeNeedsReauthentication: boolean;
  /** `max_frequency` in milliseconds: the least time between two mails of one kind to one user. */
  mailMaxFrequencyMs: number;
  otpLength: number;
  /** Seconds an e-mailed code or link stays valid. */
  otpExpiry: number;
  rateLimits: RateLimitSettings;
}

/** `[auth.rate_limit]` as GoTrue applies it (the CLI's env mapping). */
export interface RateLimitSettings {
  /** Mails per hour over the whole instance; `undefined` when unlimited (no `[auth.email.smtp]`, as in the CLI). */
  emailSent: number | undefined;
  /** Anonymous sign-ins per hour per client. */
  anonymousUsers: number;
  /** `/token` requests per 5 minutes per client. */
  tokenRefresh: number;
  /** Sign-ups, `/otp`, `/recover`, `/resend`, `/magiclink` and `PUT /user`, each per 5 minutes per client. */
  signInSignUps: number;
  /** `/verify` requests per 5 minutes per client. */
  tokenVerifications: number;
}

/** Reads the Auth settings from the stack's parsed config.toml. */
export function authSettings(ctx: Pick<StackContext, 'config' | 'apiUrl'>): AuthSettings {
  const auth = ctx.config.auth;
  const requiredCharacters = REQUIRED_CHARACTERS[auth.password_requirements];
  if (!requiredCharacters) {
    throw new Error(
      `config.toml: auth.password_requirements must be one of ${Object.keys(REQUIRED_CHARACTERS).map((k) => JSON.stringify(k)).join(', ')}`,
    );
  }
  return {
    issuer: `${ctx.apiUrl}/auth/v1`,
    jwtExpiry: auth.jwt_expiry,
    disableSignup: !auth.enable_signup,
    emailEnabled: auth.email.enabled,
    mailerAutoconfirm: !auth.email.enable_confirmations,
    anonymousEnabled: auth.enable_anonymous_sign_ins,
    refreshTokenRotation: auth.enable_refresh_token_rotation,
    refreshTokenReuseInterval: auth.refresh_token_reuse_interval,
    minimumPasswordLength: auth.minimum_password_length,
    requiredCharacters,
    siteUrl: auth.site_url,
    redirectAllowList: auth.additional_redirect_urls,
    secureEmailChange: auth.email.double_confirm_changes,
    passwordChangeNeedsReauthentication: auth.email.secure_password_change,
    mailMaxFrequencyMs: maxFrequency(auth.email.max_frequency),
    otpLength: auth.email.otp_length,
    otpExpiry: auth.email.otp_expiry,
    rateLimits: {
      // The CLI lifts the mail limit (GOTRUE_RATE_LIMIT_EMAIL_SENT=360000) unless a real SMTP server is configured.
      emailSent: auth.email.smtp?.enabled ? auth.rate_limit.email_sent : undefined,
      anonymousUsers: auth.rate_limit.anonymous_users,
      tokenRefresh: auth.rate_limit.token_refresh,
      signInSignUps: auth.rate_limit.sign_in_sign_ups,
      tokenVerifications: auth.rate_limit.token_verifications,
    },
  };
}

function maxFrequency(text: string): number {
  const ms = parseGoDuration(text);
  if (ms === undefined || ms < 0) {
    throw new Error(`config.toml: auth.email.max_frequency must be a duration such as "1s" or "1m0s", got ${JSON.stringify(text)}`);
  }
  return ms;
}
