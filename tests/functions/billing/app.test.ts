import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../supabase/functions/billing/app.ts';
import { createStripe } from '../../../supabase/functions/_shared/billing/stripe.ts';
import { asUser, type FakeAnswer, type FakeRequest, fakeUserDeps, postgrestError, recordingLogger, USER } from '../fake-deps.ts';
import { type FakeStripe, startFakeStripe } from '../_shared/stripe/fake-stripe.ts';

// The billing app in process, with a fake Data API and stripe-node talking to the fake Stripe: configuration,
// validation, authentication and error mapping. billing.test.ts runs it in real Deno against the lite stack.
let fake: FakeStripe;
beforeAll(async () => {
  fake = await startFakeStripe();
});
afterAll(async () => {
  await fake?.close();
});

const PLANS: Record<string, unknown> = {
  free: { id: 'free', name: 'Free', stripe_price_id: null },
  pro: { id: 'pro', name: 'Pro', stripe_price_id: 'price_pro' },
};

/** A Data API holding the plans and, optionally, the caller's subscription and customer rows. */
function dataApi(rows: { subscription?: unknown; customer?: unknown } = {}) {
  return (request: FakeRequest): FakeAnswer => {
    const single = request.headers.get('accept')?.includes('vnd.pgrst.object') ?? false;
    const one = (row: unknown) => (single ? (row ? { status: 200, body: row } : { status: 406, body: postgrestError('PGRST116', '0 rows') }) : { status: 200, body: row ? [row] : [] });
    if (request.path.endsWith('/plans')) return one(PLANS[(request.search.get('id') ?? '').replace(/^eq\./, '')]);
    if (request.path.endsWith('/subscriptions')) return one(rows.subscription);
    if (request.path.endsWith('/stripe_customers')) return one(rows.customer);
    return { status: 404, body: postgrestError('PGRST205', 'no such table') };
  };
}

function app(options: { answer?: (request: FakeRequest) => FakeAnswer; stripe?: boolean; apiBase?: string } = {}) {
  const { deps, requests } = fakeUserDeps(options.answer ?? dataApi());
  const { lines, logger } = recordingLogger();
  const stripe = options.stripe === false ? undefined : createStripe({ secretKey: fake.secretKey, apiBase: options.apiBase ?? fake.apiBase });
  const billing = createApp({
    ...deps,
    serviceClient: deps.userClient('service'),
    stripe,
    successUrl: 'https://app.example.com/billing?done=1',
    cancelUrl: 'https://app.example.com/billing?cancelled=1',
    portalReturnUrl: 'https://app.example.com/account',
    logger,
  });
  return { billing, requests, lines };
}

const post = (path: string, body?: unknown, headers: Record<string, string> = asUser) =>
  new Request(`http://local/billing${path}`, {
    method: 'POST',
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });

describe('billing app (in process)', () => {
  it('answers 503 billing_not_configured for checkout and portal without a Stripe key, but still reads the plan', async () => {
    const { billing } = app({ stripe: false });
    for (const request of [post('/checkout', { plan: 'pro' }), post('/portal')]) {
      const response = await billing.request(request);
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 503,
        body: { error: { code: 'billing_not_configured', message: 'Billing is not set up on this server: set STRIPE_SECRET_KEY (see docs/billing.md).' } },
      });
    }
    const status = await billing.request('/billing', { headers: asUser });
    expect(await status.json()).toEqual({ plan: { id: 'free', name: 'Free' }, status: null, currentPeriodEnd: null, cancelAtPeriodEnd: false, canManage: false });
  });

  it('uses the configured success, cancel and portal return URLs', async () => {
    const customer = (await createStripe({ secretKey: fake.secretKey, apiBase: fake.apiBase }).customers.create({})).id;
    fake.addPrice({ id: 'price_pro' });
    const { billing } = app({ answer: dataApi({ customer: { stripe_customer_id: customer } }) });
    const mark = fake.requests.length;
    expect((await billing.request(post('/checkout', { plan: 'pro' }))).status).toBe(200);
    expect((await billing.request(post('/portal'))).status).toBe(200);
    const [checkout, portal] = fake.requests.slice(mark);
    expect(checkout.form).toMatchObject({
      customer,
      client_reference_id: USER.id,
      success_url: 'https://app.example.com/billing?done=1',
      cancel_url: 'https://app.example.com/billing?cancelled=1',
    });
    expect(portal.form).toEqual({ customer, return_url: 'https://app.example.com/account' });
  });

  it('answers 401 on every route without a token, asking neither the database nor Stripe', async () => {
    const { billing, requests } = app();
    const mark = fake.requests.length;
    for (const request of [new Request('http://local/billing'), post('/checkout', { plan: 'pro' }, {}), post('/portal', undefined, {})]) {
      expect((await billing.request(request)).status, `${request.method} ${request.url}`).toBe(401);
    }
    expect(requests).toEqual([]);
    expect(fake.requests.length).toBe(mark);
  });

  it('answers 413 payload_too_large for a checkout body over 4 KiB', async () => {
    const { billing, requests } = app();
    const response = await billing.request(post('/checkout', { plan: 'pro', padding: 'x'.repeat(5000) }));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 413,
      body: { error: { code: 'payload_too_large', message: 'The body must be at most 4096 bytes.' } },
    });
    expect(requests).toEqual([]);
  });

  it('answers 502 billing_provider_error when Stripe cannot be reached, logging the cause', async () => {
    const closed = await startFakeStripe(fake.secretKey);
    const apiBase = closed.apiBase;
    await closed.close();
    const { billing, lines } = app({ apiBase, answer: dataApi({ customer: { stripe_customer_id: 'cus_somebody' } }) });
    const response = await billing.request(post('/portal'));
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 502,
      body: { error: { code: 'billing_provider_error', message: 'The payment provider could not complete the request; try again shortly.' } },
    });
    expect(lines.find((line) => line.level === 'error')?.fields).toMatchObject({
      code: 'billing_provider_error',
      err: { message: 'An error occurred with our connection to Stripe.' },
    });
  });

  it('answers 500 internal_error with a generic body when the database fails', async () => {
    const { billing } = app({ answer: () => ({ status: 500, body: postgrestError('XX000', 'disk on fire') }) });
    const response = await billing.request('/billing', { headers: asUser });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 500,
      body: { error: { code: 'internal_error', message: 'An unexpected error occurred.' } },
    });
  });

  it('documents its three routes in /billing/openapi.json', async () => {
    const { billing } = app();
    const doc = await (await billing.request('/billing/openapi.json')).json();
    expect(Object.keys(doc.paths).sort()).toEqual(['/billing', '/billing/checkout', '/billing/healthz', '/billing/portal']);
  });
});
