import { afterAll, beforeAll } from 'vitest';
import type { Stack } from '../../../../stack/index.ts';
import { startTestStack } from '../../../helpers/stack.ts';
import { type Delivery } from './events.ts';
import { type FakeStripe, startFakeStripe, stripeId } from './fake-stripe.ts';

/** A webhook signing secret for tests, shaped like Stripe's. */
export const WEBHOOK_SECRET = 'whsec_test_0123456789abcdefghijklmnopqrstuv';

/** The environment the billing functions get on a test stack: Stripe is the fake, the webhook secret the one above. */
export function billingEnv(fake: FakeStripe, webhookSecret = WEBHOOK_SECRET): Record<string, string> {
  return { STRIPE_SECRET_KEY: fake.secretKey, STRIPE_API_BASE: fake.apiBase, STRIPE_WEBHOOK_SECRET: webhookSecret };
}

/** Gives `pro` a price in the fake and in `public.plans`, adds a `team` plan with its own, and returns their ids. */
export async function pricePlans(stack: Stack, fake: FakeStripe): Promise<{ pro: string; team: string }> {
  const pro = fake.addPrice({ unit_amount: 1900 }).id as string;
  const team = fake.addPrice({ unit_amount: 4900 }).id as string;
  await stack.db.query('update public.plans set stripe_price_id = $1 where id = $2', [pro, 'pro']);
  await stack.db.query(
    `insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents, stripe_price_id, price_amount)
     values ('team', 'Team', 2000, 100 * 1024 * 1024, 5000, $1, 4900)
     on conflict (id) do update set stripe_price_id = excluded.stripe_price_id`,
    [team],
  );
  return { pro, team };
}

/** A test stack whose billing functions talk to a fake Stripe, with priced `pro` and `team` plans. */
export interface BillingStack {
  stack: Stack;
  fake: FakeStripe;
  prices: { pro: string; team: string };
  stop(): Promise<void>;
}

/** Starts the fake Stripe and an ephemeral stack pointed at it (no scheduler: nothing runs behind the tests). */
export async function startBillingStack(): Promise<BillingStack> {
  const fake = await startFakeStripe();
  const stack = await startTestStack({ seed: false, scheduler: false, functions: { env: billingEnv(fake) } });
  const prices = await pricePlans(stack, fake);
  return {
    stack,
    fake,
    prices,
    stop: async () => {
      await stack.stop();
      await fake.close();
    },
  };
}

/** Starts a {@link BillingStack} before the file's tests (handing it to `use`) and stops it after them. */
export function withBillingStack(use: (billing: BillingStack) => void): void {
  let billing: BillingStack | undefined;
  beforeAll(async () => {
    billing = await startBillingStack();
    use(billing);
  });
  afterAll(async () => {
    await billing?.stop();
  });
}

/** Makes a Stripe customer in the fake and records it as `userId`'s, as the billing function would. */
export async function linkCustomer(stack: Stack, fake: FakeStripe, userId: string): Promise<string> {
  const id = stripeId('cus');
  fake.customers.set(id, { id, object: 'customer', metadata: { user_id: userId }, livemode: false });
  await stack.db.query('insert into public.stripe_customers (user_id, stripe_customer_id) values ($1, $2)', [userId, id]);
  return id;
}

/** POSTs a delivery to the stripe-webhook function as Stripe does. */
export function deliver(stack: Stack, delivery: Delivery, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/stripe-webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': delivery.signature, ...headers },
    body: delivery.body,
  });
}

/** The billing columns of a user's subscription row, or undefined without one. */
export interface SubscriptionRow {
  plan_id: string;
  status: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  current_period_end: string | null;
  cancel_at_period_end: boolean;
}

/** Reads `userId`'s subscription as postgres (period end as ISO text). */
export async function subscriptionRow(stack: Stack, userId: string): Promise<SubscriptionRow | undefined> {
  const { rows } = await stack.db.query<SubscriptionRow>(
    `select plan_id, status, stripe_customer_id, stripe_subscription_id,
            to_char(current_period_end at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as current_period_end, cancel_at_period_end
       from public.subscriptions where user_id = $1`,
    [userId],
  );
  return rows[0];
}

/** The Stripe event log: id, type, processed or not, error. */
export async function eventLog(stack: Stack, ids: string[]): Promise<Array<{ id: string; type: string; processed: boolean; error: string | null }>> {
  const { rows } = await stack.db.query<{ id: string; type: string; processed: boolean; error: string | null }>(
    'select id, type, processed_at is not null as processed, error from private.stripe_events where id = any($1) order by id',
    [ids],
  );
  return rows;
}
