import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripe } from '../../../supabase/functions/_shared/billing/stripe.ts';
import { createApp } from '../../../supabase/functions/stripe-webhook/app.ts';
import { type FakeAnswer, type FakeRequest, fakeUserDeps, postgrestError, recordingLogger } from '../fake-deps.ts';
import { signedDelivery, stripeEvent } from '../_shared/stripe/events.ts';
import { type FakeStripe, startFakeStripe, stripeId } from '../_shared/stripe/fake-stripe.ts';
import { WEBHOOK_SECRET } from '../_shared/stripe/billing.ts';

// The webhook app in process: a fake Data API for its two RPCs, stripe-node talking to the fake Stripe, and the
// clock injected, so the signature's time window is tested at its edges. webhook.test.ts runs it in real Deno.
let fake: FakeStripe;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake?.close();
});

const T = 1_796_000_000;

/** The webhook's two RPCs: the event begins now (a timestamp, never seen before); applying it answers `outcome`. */
const dataApi =
  (outcome: FakeAnswer = { status: 200, body: 'applied' }) =>
  (request: FakeRequest): FakeAnswer =>
    request.path.endsWith('stripe_apply_event') ? outcome : { status: 200, body: new Date(T * 1000).toISOString() };

function app(options: { now?: number; answer?: (request: FakeRequest) => FakeAnswer; secret?: string | null; apiBase?: string } = {}) {
  const { deps, requests } = fakeUserDeps(options.answer ?? dataApi());
  const { lines, logger } = recordingLogger();
  const webhook = createApp({
    webhookSecret: options.secret === null ? undefined : (options.secret ?? WEBHOOK_SECRET),
    stripe: createStripe({ secretKey: fake.secretKey, apiBase: options.apiBase ?? fake.apiBase }),
    serviceClient: deps.userClient('service'),
    logger,
    now: () => (options.now ?? T) * 1000,
  });
  return { webhook, requests, lines };
}

const post = (body: string, signature?: string, headers: Record<string, string> = {}) =>
  new Request('http://local/stripe-webhook', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}), ...headers },
    body,
  });

describe('stripe-webhook app (in process)', () => {
  it('accepts a signature exactly 300 s old and refuses one 301 s old', async () => {
    const event = stripeEvent('customer.created', { id: stripeId('cus'), object: 'customer' }, T);
    const { body, signature } = await signedDelivery(event, WEBHOOK_SECRET, T);
    const onTime = await app({ now: T + 300 }).webhook.request(post(body, signature));
    expect({ status: onTime.status, body: await onTime.json() }).toEqual({ status: 200, body: { received: true, outcome: 'ignored' } });
    const late = await app({ now: T + 301 }).webhook.request(post(body, signature));
    expect({ status: late.status, body: await late.json() }).toEqual({
      status: 400,
      body: { error: { code: 'invalid_signature', message: 'The Stripe-Signature does not match the body, or is too old.' } },
    });
  });

  it('answers 503 billing_not_configured naming only the missing variable', async () => {
    const { webhook } = app({ secret: null });
    const response = await webhook.request(post('{}', 't=1,v1=00'));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 503,
      body: { error: { code: 'billing_not_configured', message: 'The Stripe webhook is not set up on this server: set STRIPE_WEBHOOK_SECRET (see docs/billing.md).' } },
    });
  });

  it('answers 413 payload_too_large for a body over 512 KiB, before checking anything', async () => {
    const { webhook, requests } = app();
    const response = await webhook.request(post('x'.repeat(512 * 1024 + 1), 't=1,v1=00'));
    expect(response.status).toBe(413);
    expect((await response.json()).error.code).toBe('payload_too_large');
    expect(requests).toEqual([]);
  });

  it('answers 502 when the subscription cannot be read from Stripe, applying nothing (Stripe retries)', async () => {
    const event = stripeEvent('customer.subscription.updated', { id: stripeId('sub'), object: 'subscription' }, T);
    const { body, signature } = await signedDelivery(event, WEBHOOK_SECRET, T);
    const closed = await startFakeStripe(fake.secretKey);
    await closed.close();
    const { webhook, requests } = app({ apiBase: closed.apiBase });
    const response = await webhook.request(post(body, signature));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 502,
      body: { error: { code: 'billing_provider_error', message: 'The payment provider could not complete the request; try again shortly.' } },
    });
    expect(requests.map((r) => r.path)).toEqual(['/rest/v1/rpc/stripe_event_begin']);
  });

  it('acknowledges an event whose subscription Stripe does not know (404) instead of failing it forever', async () => {
    const subscription = stripeId('sub');
    const event = stripeEvent('customer.subscription.updated', { id: subscription, object: 'subscription' }, T);
    const { body, signature } = await signedDelivery(event, WEBHOOK_SECRET, T);
    const { webhook, requests } = app({ answer: dataApi({ status: 200, body: 'no_subscription' }) });
    const response = await webhook.request(post(body, signature));
    expect(await response.json()).toEqual({ received: true, outcome: 'no_subscription' });
    expect(requests.map((r) => r.path)).toEqual(['/rest/v1/rpc/stripe_event_begin', '/rest/v1/rpc/stripe_apply_event']);
    expect(fake.requestsTo('GET', `/v1/subscriptions/${subscription}`).map((r) => r.status)).toEqual([404]);
  });

  it('answers 500 internal_error when the database fails, so Stripe delivers the event again', async () => {
    const event = stripeEvent('checkout.session.completed', { id: stripeId('cs_test'), object: 'checkout.session', mode: 'payment' }, T);
    const { body, signature } = await signedDelivery(event, WEBHOOK_SECRET, T);
    const { webhook, lines } = app({ answer: dataApi({ status: 500, body: postgrestError('53300', 'too many connections') }) });
    const response = await webhook.request(post(body, signature));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'An unexpected error occurred.' } },
    });
    expect(lines.some((line) => line.level === 'error')).toBe(true);
  });
});
