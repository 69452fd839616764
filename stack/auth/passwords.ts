import bcrypt from 'bcryptjs';
import { AuthError, WeakPasswordError } from './errors.ts';
import type { AuthSettings } from './settings.ts';

/** bcrypt only reads the first 72 bytes; GoTrue refuses anything longer. */
export const MAX_PASSWORD_LENGTH = 72;
/** GoTrue hashes with Go's `bcrypt.DefaultCost`. */
const BCRYPT_COST = 10;

const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Hashes a password exactly as GoTrue stores it (`$2a$10$…`, Go's bcrypt prefix), so `auth.users` rows move to
 * hosted Supabase unchanged. Call it outside any transaction: it is deliberately slow.
 */
export async function hashPassword(password: string): Promise<string> {
  // $2a$ and $2b$ are the same algorithm for passwords under 255 bytes; bcryptjs defaults to $2b$.
  const salt = (await bcrypt.genSalt(BCRYPT_COST)).replace(/^\$2b\$/, '$2a$');
  return bcrypt.hash(password, salt);
}

/** Compares a password with a stored bcrypt hash; a missing or non-bcrypt hash never matches. */
export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  if (!hash || !isBcryptHash(hash)) return false;
  return bcrypt.compare(password, hash);
}

/** True for a well-formed bcrypt hash (what admin `password_hash` must be). */
export function isBcryptHash(hash: string): boolean {
  return BCRYPT_HASH.test(hash);
}

/**
 * GoTrue's `checkPasswordStrength`: over 72 characters is a 400 `validation_failed`; too short or missing a
 * required character class is a 422 `weak_password` with the reasons.
 */
export function checkPasswordStrength(password: string, settings: AuthSettings): void {
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new AuthError(400, 'validation_failed', `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`);
  }
  const reasons: string[] = [];
  const messages: string[] = [];
  if (password.length < settings.minimumPasswordLength) {
    reasons.push('length');
    messages.push(`Password should be at least ${settings.minimumPasswordLength} characters.`);
  }
  const required = settings.requiredCharacters;
  if (required.some((set) => ![...password].some((ch) => set.includes(ch)))) {
    reasons.push('characters');
    messages.push(`Password should contain at least one character of each: ${required.join(', ')}.`);
  }
  if (reasons.length > 0) throw new WeakPasswordError(messages.join(' '), reasons);
}
