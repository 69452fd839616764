import { isIP } from 'node:net';
import { AuthError } from './errors.ts';
import type { RateLimitSettings } from './settings.ts';

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/**
 * A token bucket per key, as GoTrue's limiter (tollbooth): `burst` requests at once, refilled at `perSecond`.
 * Keys idle for an hour are forgotten.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for `key`; returns 0 when allowed, else the seconds until the next token. */
  take(key: string, now = Date.now()): number {
    this.sweep(now);
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, updatedAt: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.perSecond);
    bucket.updatedAt = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return this.perSecond > 0 ? Math.ceil((1 - bucket.tokens) / this.perSecond) : 3600;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt > 3_600_000) this.buckets.delete(key);
  }
}

/** The limiters GoTrue keeps (apilimiter), built from `[auth.rate_limit]`. */
export interface AuthLimiters {
  signups: TokenBuckets;
  anonymous: TokenBuckets;
  recover: TokenBuckets;
  resend: TokenBuckets;
  magicLink: TokenBuckets;
  otp: TokenBuckets;
  user: TokenBuckets;
  token: TokenBuckets;
  verify: TokenBuckets;
  /** Mails per hour over the whole instance; absent when unlimited. */
  email?: TokenBuckets;
}

/** Per-5-minute limits with GoTrue's burst of 30. */
function per5Minutes(count: number): TokenBuckets {
  return new TokenBuckets(count / 300, 30);
}

/** Builds the limiters with GoTrue's rates and bursts. */
export function createLimiters(limits: RateLimitSettings): AuthLimiters {
  return {
    signups: per5Minutes(limits.signInSignUps),
    anonymous: new TokenBuckets(limits.anonymousUsers / 3600, limits.anonymousUsers),
    recover: per5Minutes(limits.signInSignUps),
    resend: per5Minutes(limits.signInSignUps),
    magicLink: per5Minutes(limits.signInSignUps),
    otp: per5Minutes(limits.signInSignUps),
    user: per5Minutes(limits.signInSignUps),
    token: per5Minutes(limits.tokenRefresh),
    verify: per5Minutes(limits.tokenVerifications),
    ...(limits.emailSent === undefined ? {} : { email: new TokenBuckets(limits.emailSent / 3600, limits.emailSent) }),
  };
}

/**
 * The client a request is limited as: the first `X-Forwarded-For` address, which the proxy in front of Auth sets
 * (GoTrue's `GOTRUE_RATE_LIMIT_HEADER`). A request without one is not limited by address, as GoTrue does when no
 * such header is configured — the setup of `supabase start`, where every request comes from the same machine.
 */
export function clientKey(request: Request): string | undefined {
  const first = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim() ?? '';
  return isIP(first) ? first : undefined;
}

/** 429 `over_request_rate_limit` when the request's client has used up `limiter`. */
export function limitRequest(limiter: TokenBuckets, request: Request): void {
  const key = clientKey(request);
  if (key === undefined) return;
  const wait = limiter.take(key);
  if (wait > 0) {
    throw new AuthError(429, 'over_request_rate_limit', 'Request rate limit reached', { 'retry-after': String(wait) });
  }
}

/** 429 `over_email_send_rate_limit` when the instance has sent its hourly mail allowance. */
export function limitEmail(limiters: AuthLimiters): void {
  if (!limiters.email) return;
  const wait = limiters.email.take('instance');
  if (wait > 0) {
    throw new AuthError(429, 'over_email_send_rate_limit', 'email rate limit exceeded', { 'retry-after': String(wait) });
  }
}
