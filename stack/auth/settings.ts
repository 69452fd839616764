import type { StackContext } from '../context.ts';

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
  };
}
