import { createHash, randomInt } from 'node:crypto';

/** A numeric one-time code of `digits` digits, uniformly random (leading zeros kept). */
export function generateOtp(digits: number): string {
  let code = '';
  for (let i = 0; i < digits; i += 1) code += String(randomInt(10));
  return code;
}

/**
 * What GoTrue stores for an e-mailed code and puts in links as `token_hash`: hex SHA-224 of the address followed by
 * the code. The code itself is never stored.
 */
export function tokenHash(emailOrPhone: string, otp: string): string {
  return createHash('sha224').update(emailOrPhone + otp).digest('hex');
}

/** The prefix GoTrue puts on a stored token hash when the mail belongs to a PKCE flow. */
export const PKCE_PREFIX = 'pkce_';

/** True when a token sent at `sentAt` is older than `expirySeconds` (or was never sent). */
export function isOtpExpired(sentAt: Date | null | undefined, expirySeconds: number): boolean {
  if (!sentAt) return true;
  return Date.now() > new Date(sentAt).getTime() + expirySeconds * 1000;
}

/** GoTrue's `isOtpValid`: the stored hash matches (with or without the PKCE prefix) and has not expired. */
export function isOtpValid(actual: string, expected: string | null, sentAt: Date | null, expirySeconds: number): boolean {
  if (!expected || !sentAt || isOtpExpired(sentAt, expirySeconds)) return false;
  return actual === expected || PKCE_PREFIX + actual === expected;
}
