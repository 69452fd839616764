import { z } from 'zod';
import { optionalVar } from '../env.ts';

/** Where the browser app runs locally (`site_url` in supabase/config.toml); the default for the billing URLs. */
export const DEFAULT_SITE_URL = 'http://127.0.0.1:3000';

/**
 * The billing variables (`billing` and `stripe-webhook`). All optional: without `STRIPE_SECRET_KEY` checkout and
 * the portal answer 503 `billing_not_configured`, and without `STRIPE_WEBHOOK_SECRET` the webhook does.
 * `STRIPE_API_BASE` points stripe-node at another server (tests' fake Stripe); unset, it talks to api.stripe.com.
 */
export const BillingEnvSchema = z.object({
  STRIPE_SECRET_KEY: optionalVar(z.string().regex(/^(sk|rk)_(test|live)_\S+$/, 'expected a Stripe secret key (sk_test_… or sk_live_…)')),
  STRIPE_WEBHOOK_SECRET: optionalVar(z.string().regex(/^whsec_\S+$/, 'expected a webhook signing secret (whsec_…)')),
  STRIPE_API_BASE: optionalVar(z.url({ protocol: /^https?$/ })),
  BILLING_SUCCESS_URL: optionalVar(z.url({ protocol: /^https?$/ })),
  BILLING_CANCEL_URL: optionalVar(z.url({ protocol: /^https?$/ })),
  BILLING_PORTAL_RETURN_URL: optionalVar(z.url({ protocol: /^https?$/ })),
});

/** The raw variables as parsed by {@link BillingEnvSchema}. */
export type BillingEnv = z.output<typeof BillingEnvSchema>;

/** How to reach Stripe: the secret key and, for tests, another API base. */
export interface StripeConfig {
  secretKey: string;
  /** e.g. `http://127.0.0.1:12111`; unset means api.stripe.com. */
  apiBase?: string;
}

/** The billing settings the functions take, derived once from the environment. */
export interface BillingConfig {
  /** Absent when `STRIPE_SECRET_KEY` is not set. */
  stripe?: StripeConfig;
  /** Absent when `STRIPE_WEBHOOK_SECRET` is not set. */
  webhookSecret?: string;
  successUrl: string;
  cancelUrl: string;
  portalReturnUrl: string;
}

/** Derives the {@link BillingConfig} from parsed variables; the URLs default to the local app on :3000. */
export function billingConfig(env: BillingEnv): BillingConfig {
  return {
    stripe: env.STRIPE_SECRET_KEY ? { secretKey: env.STRIPE_SECRET_KEY, apiBase: env.STRIPE_API_BASE } : undefined,
    webhookSecret: env.STRIPE_WEBHOOK_SECRET,
    successUrl: env.BILLING_SUCCESS_URL ?? `${DEFAULT_SITE_URL}/?billing=success`,
    cancelUrl: env.BILLING_CANCEL_URL ?? `${DEFAULT_SITE_URL}/?billing=cancelled`,
    portalReturnUrl: env.BILLING_PORTAL_RETURN_URL ?? `${DEFAULT_SITE_URL}/`,
  };
}
