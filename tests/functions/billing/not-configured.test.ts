import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { mintUser, startTestStack } from '../../helpers/stack.ts';

// A project where Stripe is not set up yet: the functions boot, reading the plan works, the rest says what to set.
let stack: Stack;

beforeAll(async () => {
  // Blank values count as unset, and override any supabase/functions/.env a developer keeps.
  const unset = { STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '', STRIPE_API_BASE: '' };
  stack = await startTestStack({ seed: false, scheduler: false, functions: { env: unset } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('billing without Stripe configuration', () => {
  it('still answers GET /billing from the database', async () => {
    const user = await mintUser(stack);
    const response = await fetch(`${stack.apiUrl}/functions/v1/billing`, { headers: { authorization: `Bearer ${user.token}` } });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 200,
      body: { plan: { id: 'free', name: 'Free' }, status: null, currentPeriodEnd: null, cancelAtPeriodEnd: false, canManage: false },
    });
  });

  it('answers checkout and portal with 503 billing_not_configured naming STRIPE_SECRET_KEY', async () => {
    const user = await mintUser(stack);
    for (const [path, body] of [['/checkout', { plan: 'pro' }], ['/portal', undefined]] as const) {
      const response = await fetch(`${stack.apiUrl}/functions/v1/billing${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
        body: body && JSON.stringify(body),
      });
      expect({ status: response.status, body: await response.json() }, path).toEqual({
        status: 503,
        body: { error: { code: 'billing_not_configured', message: 'Billing is not set up on this server: set STRIPE_SECRET_KEY (see docs/billing.md).' } },
      });
    }
  });

  it('answers the webhook with 503 billing_not_configured naming both secrets, so Stripe retries later', async () => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/stripe-webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': 't=1,v1=00' },
      body: '{}',
    });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 503,
      body: {
        error: {
          code: 'billing_not_configured',
          message: 'The Stripe webhook is not set up on this server: set STRIPE_WEBHOOK_SECRET and STRIPE_SECRET_KEY (see docs/billing.md).',
        },
      },
    });
  });
});
