import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripe, Stripe } from '../../../../supabase/functions/_shared/billing/stripe.ts';
import { decodeStripeForm, type FakeStripe, startFakeStripe } from './fake-stripe.ts';

// The fake is only useful if stripe-node, unchanged, understands it the way it understands Stripe.
let fake: FakeStripe;
let stripe: Stripe;
beforeAll(async () => {
  fake = await startFakeStripe();
  stripe = createStripe({ secretKey: fake.secretKey, apiBase: fake.apiBase });
});
afterAll(async () => {
  await fake?.close();
});

async function thrown(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Stripe.errors.StripeError) return error;
    throw error;
  }
  throw new Error('expected a Stripe error');
}

describe('fake Stripe', () => {
  it('decodes bracketed form keys into objects and arrays', () => {
    expect(decodeStripeForm('mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=1&metadata[a]=b&lookup_keys[0]=x&lookup_keys[1]=y')).toEqual({
      mode: 'subscription',
      line_items: [{ price: 'price_1', quantity: '1' }],
      metadata: { a: 'b' },
      lookup_keys: ['x', 'y'],
    });
  });

  it('answers a missing resource as stripe-node expects: StripeInvalidRequestError, resource_missing, 404, the param', async () => {
    const error = await thrown(stripe.subscriptions.retrieve('sub_missing'));
    expect({ type: error.type, code: error.code, statusCode: error.statusCode, param: error.param, message: error.message }).toEqual({
      type: 'StripeInvalidRequestError',
      code: 'resource_missing',
      statusCode: 404,
      param: 'id',
      message: "No such subscription: 'sub_missing'",
    });
  });

  it('refuses another key with 401 (StripeAuthenticationError)', async () => {
    const other = createStripe({ secretKey: 'sk_test_wrong', apiBase: fake.apiBase });
    const error = await thrown(other.customers.create({}));
    expect({ type: error.type, statusCode: error.statusCode }).toEqual({ type: 'StripeAuthenticationError', statusCode: 401 });
  });

  it('replays the first answer to an idempotency key, and refuses the key with other parameters (StripeIdempotencyError)', async () => {
    const first = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'same-key' });
    const again = await stripe.customers.create({ email: 'a@example.com' }, { idempotencyKey: 'same-key' });
    expect(again.id).toBe(first.id);
    expect(fake.requests.at(-1)).toMatchObject({ replayed: true });
    const error = await thrown(stripe.customers.create({ email: 'b@example.com' }, { idempotencyKey: 'same-key' }));
    expect({ type: error.type, statusCode: error.statusCode }).toEqual({ type: 'StripeIdempotencyError', statusCode: 400 });
  });

  it('receives what stripe-node sends: form body, Bearer key, Stripe-Version, Idempotency-Key', async () => {
    await stripe.customers.create({ metadata: { user_id: 'u1' } }, { idempotencyKey: 'k-1' });
    const sent = fake.requests.at(-1)!;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/customers', raw: 'metadata[user_id]=u1', form: { metadata: { user_id: 'u1' } } });
    expect(sent.headers).toMatchObject({
      authorization: `Bearer ${fake.secretKey}`,
      'content-type': 'application/x-www-form-urlencoded',
      'stripe-version': '2026-10-28.endive',
      'idempotency-key': 'k-1',
    });
  });
});
