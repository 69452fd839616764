import Stripe from 'stripe';
import { ApiError } from '../errors.ts';
import type { StripeConfig } from './config.ts';

export { Stripe };

/**
 * A stripe-node client that runs on the edge runtime, Deno and Node alike: Web `fetch` as its HTTP client, no
 * automatic retries (every write carries our own idempotency key, and the caller decides), and `apiBase` as
 * host, port and protocol when set (tests' fake Stripe).
 */
export function createStripe(config: StripeConfig): Stripe {
  const base = config.apiBase ? new URL(config.apiBase) : undefined;
  return new Stripe(config.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 0,
    timeout: 20_000,
    appInfo: { name: 'edgebrain' },
    ...(base && {
      host: base.hostname,
      port: base.port || (base.protocol === 'http:' ? '80' : '443'),
      protocol: base.protocol === 'http:' ? ('http' as const) : ('https' as const),
    }),
  });
}

/** Whether `error` is one stripe-node throws for an answer from Stripe (or a failure to reach it). */
export function isStripeError(error: unknown): error is Stripe.errors.StripeError {
  return error instanceof Stripe.errors.StripeError;
}

/**
 * The answer to a failed Stripe call: 502 `billing_provider_error` with a generic sentence (the cause goes to the
 * log). Anything that is not a Stripe error is rethrown unchanged.
 */
export function fromStripeError(error: unknown): ApiError {
  if (!isStripeError(error)) throw error;
  return new ApiError(502, 'billing_provider_error', 'The payment provider could not complete the request; try again shortly.', { cause: error });
}
