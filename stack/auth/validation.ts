import { AuthError } from './errors.ts';

// The format check of github.com/badoux/checkmail, which GoTrue's validateEmail uses.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const E164 = /^[1-9][0-9]{1,14}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GoTrue's `validateEmail`: required, at most 255 characters, well-formed; returns it lower-cased. */
export function validateEmail(email: string): string {
  if (email === '') throw new AuthError(400, 'validation_failed', 'An email address is required');
  if (email.length > 255) throw new AuthError(400, 'validation_failed', 'An email address is too long');
  if (!EMAIL.test(email)) throw new AuthError(400, 'validation_failed', 'Unable to validate email address: invalid format');
  return email.toLowerCase();
}

/** GoTrue's `validatePhone`: drops a leading `+` and spaces, then requires E.164 digits. */
export function validatePhone(phone: string): string {
  const formatted = phone.replace(/^\+/, '').replaceAll(' ', '');
  if (!E164.test(formatted)) throw new AuthError(400, 'validation_failed', 'Invalid phone number format (E.164 required)');
  return formatted;
}

/** True for a canonical UUID string. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go `time.ParseDuration` string (`"24h"`, `"1h30m"`, `"-1.5h"`) into milliseconds; `ban_duration` uses
 * this format. Returns undefined when it is not one.
 */
export function parseGoDuration(text: string): number | undefined {
  const match = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (text === '0') return 0;
  if (!match) return undefined;
  const sign = match[1] === '-' ? -1 : 1;
  let total = 0;
  for (const part of text.slice(match[1].length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]];
  }
  return sign * total;
}

/** `ban_duration` → the `banned_until` to store: `"none"` lifts a ban (null); anything unparsable is a 400. */
export function banUntil(banDuration: string): Date | null {
  if (banDuration === 'none') return null;
  const ms = parseGoDuration(banDuration);
  if (ms === undefined) {
    throw new AuthError(400, 'validation_failed', `invalid format for ban duration: time: invalid duration "${banDuration}"`);
  }
  return ms === 0 ? null : new Date(Date.now() + ms);
}
