import { describe, expect, it } from 'vitest';
import { billingConfig, BillingEnvSchema } from '../../../supabase/functions/_shared/billing/config.ts';
import { parseEnv } from '../../../supabase/functions/_shared/env.ts';
import { envErrorOf } from '../../helpers/env.ts';

/** What the billing and stripe-webhook entry files do with their variables. */
const configFrom = (source: Record<string, string | undefined>) => billingConfig(parseEnv(BillingEnvSchema, source));

describe('billingConfig', () => {
  it('without variables: Stripe off, and the URLs of the local app on :3000', () => {
    expect(configFrom({})).toStrictEqual({
      stripe: undefined,
      webhookSecret: undefined,
      successUrl: 'http://127.0.0.1:3000/?billing=success',
      cancelUrl: 'http://127.0.0.1:3000/?billing=cancelled',
      portalReturnUrl: 'http://127.0.0.1:3000/',
    });
  });

  it('treats blank variables as unset, as in an .env template', () => {
    const blank = Object.fromEntries(Object.keys(BillingEnvSchema.shape).map((name) => [name, '']));
    expect(configFrom(blank)).toStrictEqual(configFrom({}));
  });

  it('takes the key, the API base, the webhook secret and every URL', () => {
    expect(
      configFrom({
        STRIPE_SECRET_KEY: 'sk_test_123',
        STRIPE_API_BASE: 'http://127.0.0.1:12111',
        STRIPE_WEBHOOK_SECRET: 'whsec_abc',
        BILLING_SUCCESS_URL: 'https://app.example.com/thanks',
        BILLING_CANCEL_URL: 'https://app.example.com/pricing',
        BILLING_PORTAL_RETURN_URL: 'https://app.example.com/account',
      }),
    ).toStrictEqual({
      stripe: { secretKey: 'sk_test_123', apiBase: 'http://127.0.0.1:12111' },
      webhookSecret: 'whsec_abc',
      successUrl: 'https://app.example.com/thanks',
      cancelUrl: 'https://app.example.com/pricing',
      portalReturnUrl: 'https://app.example.com/account',
    });
  });

  it('fails at start naming each malformed variable, never echoing its value', () => {
    const error = envErrorOf(() =>
      configFrom({ STRIPE_SECRET_KEY: 'pk_test_publishable', STRIPE_WEBHOOK_SECRET: 'secret', BILLING_SUCCESS_URL: 'javascript:alert(1)' }),
    );
    expect(error.variables).toEqual(['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'BILLING_SUCCESS_URL']);
    expect(error.message).not.toContain('pk_test_publishable');
    expect(error.message).toContain('STRIPE_SECRET_KEY is malformed: expected a Stripe secret key (sk_test_… or sk_live_…)');
  });
});
