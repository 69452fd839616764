import { describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { mintUser, type TestUser } from '../../helpers/stack.ts';
import { type BillingStack, linkCustomer, withBillingStack } from '../_shared/stripe/billing.ts';
import type { FakeStripe } from '../_shared/stripe/fake-stripe.ts';

// End to end: the billing function in real Deno behind the gateway, with stripe-node talking to a local fake Stripe.
let stack: Stack;
let fake: FakeStripe;
let prices: BillingStack['prices'];
withBillingStack((billing) => ({ stack, fake, prices } = billing));

function call(user: TestUser | undefined, method: string, path = '', body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/billing${path}`, {
    method,
    headers: {
      ...(user ? { authorization: `Bearer ${user.token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function expectError(response: Response, status: number, error: Record<string, unknown>): Promise<void> {
  expect({ status: response.status, body: await response.json() }).toEqual({ status, body: { error } });
}

async function customerRows(userId: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ stripe_customer_id: string }>('select stripe_customer_id from public.stripe_customers where user_id = $1', [userId]);
  return rows.map((row) => row.stripe_customer_id);
}

const since = (mark: number) => fake.requests.slice(mark);

describe('GET /functions/v1/billing', () => {
  it('tells a new user they are on the free plan with nothing to manage', async () => {
    const user = await mintUser(stack);
    const response = await call(user, 'GET');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      plan: { id: 'free', name: 'Free' },
      status: null,
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      canManage: false,
    });
  });

  it('reports a subscription that ended as the free plan, with its last status and period', async () => {
    const user = await mintUser(stack);
    await linkCustomer(stack, fake, user.id);
    await stack.db.query(
      `insert into public.subscriptions (user_id, plan_id, status, current_period_end, cancel_at_period_end)
       values ($1, 'pro', 'canceled', '2026-11-30T12:00:00Z', true)`,
      [user.id],
    );
    expect(await (await call(user, 'GET')).json()).toEqual({
      plan: { id: 'free', name: 'Free' },
      status: 'canceled',
      currentPeriodEnd: '2026-11-30T12:00:00.000Z',
      cancelAtPeriodEnd: true,
      canManage: true,
    });
  });

  it('answers 401 missing_authorization without a token', async () => {
    const response = await call(undefined, 'GET');
    expect(response.status).toBe(401);
    expect((await response.json()).error.code).toBe('missing_authorization');
  });
});

describe('POST /functions/v1/billing/checkout', () => {
  it('creates the customer once and a subscription Checkout Session for the plan\'s price, sending Stripe exactly this', async () => {
    const user = await mintUser(stack);
    const mark = fake.requests.length;
    const response = await call(user, 'POST', '/checkout', { plan: 'pro' });
    expect(response.status).toBe(200);
    const { url } = await response.json();
    expect(url).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);

    const [customer, session, ...rest] = since(mark);
    expect(rest).toEqual([]);
    const [customerId] = await customerRows(user.id);
    expect(customer).toMatchObject({
      method: 'POST',
      path: '/v1/customers',
      status: 200,
      form: { email: user.email, metadata: { user_id: user.id } },
    });
    expect(customer.headers['idempotency-key']).toBe(`customer:${user.id}`);
    expect(customerId).toMatch(/^cus_/);
    expect(fake.customers.get(customerId)).toMatchObject({ email: user.email });

    expect(session).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions', status: 200 });
    expect(session.form).toEqual({
      mode: 'subscription',
      customer: customerId,
      client_reference_id: user.id,
      line_items: [{ price: prices.pro, quantity: '1' }],
      success_url: 'http://127.0.0.1:3000/?billing=success',
      cancel_url: 'http://127.0.0.1:3000/?billing=cancelled',
      metadata: { user_id: user.id, plan_id: 'pro' },
      subscription_data: { metadata: { user_id: user.id, plan_id: 'pro' } },
    });
    expect(session.raw).toContain(`&line_items[0][price]=${prices.pro}&line_items[0][quantity]=1&`);
    expect(session.headers['idempotency-key']).toMatch(new RegExp(`^checkout:${user.id}:pro:`));
    expect(session.headers['stripe-version']).toBe('2026-10-28.endive');
    expect(session.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
    expect(session.headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('reuses the customer on a later checkout, and a retried request (same X-Request-Id) gets the same session', async () => {
    const user = await mintUser(stack);
    const first = await (await call(user, 'POST', '/checkout', { plan: 'team' })).json();
    const mark = fake.requests.length;
    const retried = await (await call(user, 'POST', '/checkout', { plan: 'team' }, { 'x-request-id': 'retry-me-1' })).json();
    const again = await (await call(user, 'POST', '/checkout', { plan: 'team' }, { 'x-request-id': 'retry-me-1' })).json();
    expect(again.url).toBe(retried.url);
    expect(retried.url).not.toBe(first.url);
    const sent = since(mark);
    expect(sent.map((r) => `${r.method} ${r.path} ${r.replayed}`)).toEqual(['POST /v1/checkout/sessions false', 'POST /v1/checkout/sessions true']);
    expect(sent[0].form.customer).toBe((await customerRows(user.id))[0]);
    expect(sent[0].form.line_items).toEqual([{ price: prices.team, quantity: '1' }]);
  });

  it('creates one customer when two first checkouts race', async () => {
    const user = await mintUser(stack);
    const customersBefore = fake.customers.size;
    const responses = await Promise.all([call(user, 'POST', '/checkout', { plan: 'pro' }), call(user, 'POST', '/checkout', { plan: 'pro' })]);
    expect(responses.map((r) => r.status)).toEqual([200, 200]);
    expect(await customerRows(user.id)).toHaveLength(1);
    expect(fake.customers.size - customersBefore).toBe(1);
  });

  it('answers 400 unknown_plan for a plan that does not exist, asking Stripe nothing', async () => {
    const user = await mintUser(stack);
    const mark = fake.requests.length;
    await expectError(await call(user, 'POST', '/checkout', { plan: 'platinum' }), 400, {
      code: 'unknown_plan',
      message: 'There is no plan "platinum".',
    });
    expect(since(mark)).toEqual([]);
  });

  it('answers 409 plan_not_purchasable for the free plan (it has no price)', async () => {
    const user = await mintUser(stack);
    await expectError(await call(user, 'POST', '/checkout', { plan: 'free' }), 409, {
      code: 'plan_not_purchasable',
      message: 'The Free plan has no Stripe price to check out; run npm run stripe:sync.',
    });
    expect(await customerRows(user.id)).toEqual([]);
  });

  it('answers 409 already_subscribed to a user with an active subscription (change plans in the portal)', async () => {
    const user = await mintUser(stack);
    await linkCustomer(stack, fake, user.id);
    await stack.db.query("insert into public.subscriptions (user_id, plan_id, status) values ($1, 'pro', 'active')", [user.id]);
    const mark = fake.requests.length;
    await expectError(await call(user, 'POST', '/checkout', { plan: 'pro' }), 409, {
      code: 'already_subscribed',
      message: 'You already have a subscription; change or cancel it in the billing portal.',
      plan: 'pro',
    });
    expect(since(mark)).toEqual([]);
  });

  it('answers 400 validation_failed for a body without a well-formed plan id', async () => {
    const user = await mintUser(stack);
    for (const body of [{}, { plan: 'Pro Plan' }, { plan: 'x'.repeat(65) }, '{"plan":']) {
      const response = await call(user, 'POST', '/checkout', body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await response.json()).error.code).toMatch(/^(validation_failed|bad_request)$/);
    }
  });

  it('answers 502 billing_provider_error, with a generic message, when Stripe refuses the price', async () => {
    const user = await mintUser(stack);
    await stack.db.query(
      `insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents, stripe_price_id)
       values ('ghost', 'Ghost', 1, 1, 1, 'price_nowhere') on conflict (id) do nothing`,
    );
    const mark = fake.requests.length;
    await expectError(await call(user, 'POST', '/checkout', { plan: 'ghost' }), 502, {
      code: 'billing_provider_error',
      message: 'The payment provider could not complete the request; try again shortly.',
    });
    const refused = since(mark).find((r) => r.path === '/v1/checkout/sessions');
    expect(refused?.status).toBe(404);
  });
});

describe('POST /functions/v1/billing/portal', () => {
  it('answers 409 no_billing_account before the first checkout', async () => {
    const user = await mintUser(stack);
    await expectError(await call(user, 'POST', '/portal'), 409, {
      code: 'no_billing_account',
      message: 'You have no billing account yet; subscribe to a plan first.',
    });
  });

  it('opens the Customer Portal for the caller\'s own customer, returning to the app', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const mark = fake.requests.length;
    const response = await call(user, 'POST', '/portal');
    expect(response.status).toBe(200);
    expect((await response.json()).url).toMatch(/^https:\/\/billing\.stripe\.com\/p\/session\//);
    const [sent] = since(mark);
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/billing_portal/sessions', form: { customer, return_url: 'http://127.0.0.1:3000/' } });
    expect(sent.headers['idempotency-key']).toMatch(new RegExp(`^portal:${user.id}:`));
  });
});

describe('the Data API (supabase-js as the user)', () => {
  it('never lets a user write their subscription or their customer row, nor call the webhook\'s functions', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const db = user.client;
    const state = { id: 'sub_mine', customer, status: 'active', price_id: prices.pro, current_period_end: 4102444800, cancel_at_period_end: false };
    const attempts = {
      insertCustomer: await db.from('stripe_customers').insert({ user_id: user.id, stripe_customer_id: 'cus_mine' }),
      changeCustomer: await db.from('stripe_customers').update({ stripe_customer_id: 'cus_other' }).eq('user_id', user.id),
      dropCustomer: await db.from('stripe_customers').delete().eq('user_id', user.id),
      insertSubscription: await db.from('subscriptions').insert({ user_id: user.id, plan_id: 'pro', status: 'active' }),
      applyEvent: await db.rpc('stripe_apply_event', {
        event_id: 'evt_mine',
        event_type: 'customer.subscription.created',
        payload: {},
        subscription: state,
        synced_at: new Date().toISOString(),
      }),
      beginEvent: await db.rpc('stripe_event_begin', { event_id: 'evt_mine' }),
    };
    expect(Object.fromEntries(Object.entries(attempts).map(([name, result]) => [name, result.error?.code]))).toEqual({
      insertCustomer: '42501',
      changeCustomer: '42501',
      dropCustomer: '42501',
      insertSubscription: '42501',
      applyEvent: '42501',
      beginEvent: '42501',
    });
    expect(await customerRows(user.id)).toEqual([customer]);
    const { rows } = await stack.db.query('select 1 from public.subscriptions where user_id = $1', [user.id]);
    expect(rows).toEqual([]);
    expect((await db.from('stripe_customers').select('stripe_customer_id')).data).toEqual([{ stripe_customer_id: customer }]);
  });
});
