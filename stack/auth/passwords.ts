import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/bcrypt';
import { AuthError, WeakPasswordError } from './errors.ts';
import type { AuthSettings } from './settings.ts';

/** bcrypt only reads the first 72 bytes; GoTrue refuses anything longer. */
export const MAX_PASSWORD_LENGTH = 72;
/** GoTrue hashes with Go's `bcrypt.DefaultCost`. */
const BCRYPT_COST = 10;

const BCRYPT_HASH = /^\$2[abxy]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * How many bcrypt jobs may run at once. They run on libuv's thread pool (`UV_THREADPOOL_SIZE`, default 4), which file
 * I/O shares: leaving two threads free keeps Storage and the mailbox responsive during a burst of sign-ins.
 */
export const BCRYPT_CONCURRENCY = Math.max(1, (Number(process.env.UV_THREADPOOL_SIZE) || 4) - 2);

let running = 0;
const waiting: Array<() => void> = [];

/** Runs `job` when fewer than {@link BCRYPT_CONCURRENCY} bcrypt jobs are running; the rest wait in order. */
async function limited<T>(job: () => Promise<T>): Promise<T> {
  // A finishing job hands its slot straight to the next waiter, so `running` never exceeds the limit.
  if (running >= BCRYPT_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else running += 1;
  try {
    return await job();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running -= 1;
  }
}

/**
 * Hashes a password exactly as GoTrue stores it (`$2a$10$…`, Go's bcrypt prefix), so `auth.users` rows move to
 * hosted Supabase unchanged. The work runs on libuv's thread pool (native bcrypt), never on the event loop, so
 * other requests keep flowing while it runs. Call it outside any transaction: it is deliberately slow.
 */
export function hashPassword(password: string): Promise<string> {
  return limited(() => hash(password, { cost: BCRYPT_COST, version: '2a' }));
}

let dummyHash: Promise<string> | undefined;

/** A hash of a random secret, made once: what a password is checked against when there is no real hash. */
function dummy(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'));
  return dummyHash;
}

/** Makes the dummy hash before the first request, so even that one takes no longer for an unknown address. */
export async function prepareDummyHash(): Promise<void> {
  await dummy();
}

/**
 * Compares a password with a stored bcrypt hash, off the event loop. A missing or non-bcrypt hash (unknown user, a
 * user without a password) never matches, but still costs one full comparison against a dummy hash of the same cost,
 * so the answer's timing does not tell known e-mail addresses from unknown ones.
 */
export async function verifyPassword(password: string, stored: string | null | undefined): Promise<boolean> {
  if (!stored || !isBcryptHash(stored)) {
    const standIn = await dummy();
    await limited(() => verify(password, standIn));
    return false;
  }
  return limited(() => verify(password, stored));
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
