import { describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { currentPlan } from '../../../supabase/functions/_shared/plans.ts';
import type { Client } from '../../../supabase/functions/_shared/routes.ts';
import { mintUser, serviceClient } from '../../helpers/stack.ts';
import {
  type BillingStack,
  deliver,
  eventLog,
  linkCustomer,
  withBillingStack,
  type SubscriptionRow,
  subscriptionRow,
  WEBHOOK_SECRET,
} from '../_shared/stripe/billing.ts';
import { checkoutSessionObject, invoiceObject, signedDelivery, stripeEvent, subscriptionObject } from '../_shared/stripe/events.ts';
import { type FakeStripe, stripeId } from '../_shared/stripe/fake-stripe.ts';

// End to end: the stripe-webhook function in real Deno behind the gateway, Stripe played by a local fake that the
// function re-reads subscriptions from, deliveries signed with stripe-node's own test signer.
let stack: Stack;
let fake: FakeStripe;
let prices: BillingStack['prices'];
withBillingStack((billing) => ({ stack, fake, prices } = billing));

type Json = Record<string, unknown>;
const DAY = 86_400;
const P0 = 1_793_000_000;
const P1 = P0 + 30 * DAY;
const P2 = P1 + 30 * DAY;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

/** One moment in a subscription's life: what Stripe holds then, the events it sends, and the row we expect. */
interface Step {
  name: string;
  subscription: Json;
  events: Json[];
  expected: Omit<SubscriptionRow, 'stripe_customer_id' | 'stripe_subscription_id'>;
}

/** A realistic life: checkout, upgrade, a failed renewal, cancel at period end, then the end. */
function lifecycle(userId: string, customer: string): { subscriptionId: string; steps: Step[] } {
  const id = stripeId('sub');
  const sub = (price: string, status: string, periodStart: number, periodEnd: number, cancelAtPeriodEnd = false) =>
    subscriptionObject({ id, customer, price, status, periodStart, periodEnd, cancelAtPeriodEnd, metadata: { user_id: userId } });
  let clock = P0;
  const at = () => (clock += 7);

  const active = sub(prices.pro, 'active', P0, P1);
  const upgraded = sub(prices.team, 'active', P0, P1);
  const pastDue = sub(prices.team, 'past_due', P1, P2);
  const cancelling = sub(prices.team, 'past_due', P1, P2, true);
  const ended = sub(prices.team, 'canceled', P1, P2, true);
  const steps: Step[] = [
    {
      name: 'checkout',
      subscription: active,
      events: [
        stripeEvent('checkout.session.completed', checkoutSessionObject({ customer, subscription: id, userId, planId: 'pro' }), at()),
        stripeEvent('customer.subscription.created', active, at()),
        stripeEvent('invoice.paid', invoiceObject({ customer, subscription: id, paid: true, periodStart: P0, periodEnd: P1 }), at()),
      ],
      expected: { plan_id: 'pro', status: 'active', current_period_end: iso(P1), cancel_at_period_end: false },
    },
    {
      name: 'upgrade to team',
      subscription: upgraded,
      events: [stripeEvent('customer.subscription.updated', upgraded, at())],
      expected: { plan_id: 'team', status: 'active', current_period_end: iso(P1), cancel_at_period_end: false },
    },
    {
      name: 'renewal payment fails',
      subscription: pastDue,
      events: [
        stripeEvent('invoice.payment_failed', invoiceObject({ customer, subscription: id, paid: false, periodStart: P1, periodEnd: P2 }), at()),
        stripeEvent('customer.subscription.updated', pastDue, at()),
      ],
      expected: { plan_id: 'team', status: 'past_due', current_period_end: iso(P2), cancel_at_period_end: false },
    },
    {
      name: 'cancel at period end',
      subscription: cancelling,
      events: [stripeEvent('customer.subscription.updated', cancelling, at())],
      expected: { plan_id: 'team', status: 'past_due', current_period_end: iso(P2), cancel_at_period_end: true },
    },
    {
      name: 'subscription ends',
      subscription: ended,
      events: [stripeEvent('customer.subscription.deleted', ended, at())],
      expected: { plan_id: 'team', status: 'canceled', current_period_end: iso(P2), cancel_at_period_end: true },
    },
  ];
  return { subscriptionId: id, steps };
}

/** A deterministic shuffle (mulberry32), so a failure can be replayed. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function send(event: Json, options: { secret?: string; timestamp?: number } = {}): Promise<{ status: number; body: Json }> {
  const response = await deliver(stack, await signedDelivery(event, options.secret ?? WEBHOOK_SECRET, options.timestamp));
  return { status: response.status, body: await response.json() };
}

const stateOf = (row: SubscriptionRow | undefined) =>
  row && { plan_id: row.plan_id, status: row.status, current_period_end: row.current_period_end, cancel_at_period_end: row.cancel_at_period_end };

describe('POST /functions/v1/stripe-webhook: applying events', () => {
  it('follows a subscription through checkout, upgrade, failed renewal, cancel at period end and its end, as the events arrive', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { subscriptionId, steps } = lifecycle(user.id, customer);
    for (const step of steps) {
      fake.putSubscription(step.subscription);
      for (const event of step.events) {
        expect(await send(event), `${step.name}: ${event.type}`).toEqual({ status: 200, body: { received: true, outcome: 'applied' } });
      }
      expect(await subscriptionRow(stack, user.id), step.name).toEqual({
        ...step.expected,
        stripe_customer_id: customer,
        stripe_subscription_id: subscriptionId,
      });
    }
    const ids = steps.flatMap((step) => step.events.map((event) => event.id as string));
    const log = await eventLog(stack, ids);
    expect(log).toHaveLength(ids.length);
    expect(log.every((entry) => entry.processed && entry.error === null)).toBe(true);
  });

  it('ends in the in-order state when the same events arrive shuffled and duplicated, each applied once', async () => {
    const inOrderUser = await mintUser(stack);
    const inOrderCustomer = await linkCustomer(stack, fake, inOrderUser.id);
    const inOrder = lifecycle(inOrderUser.id, inOrderCustomer);
    for (const step of inOrder.steps) {
      fake.putSubscription(step.subscription);
      for (const event of step.events) expect((await send(event)).status).toBe(200);
    }

    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { subscriptionId, steps } = lifecycle(user.id, customer);
    // Stripe has moved on by the time the (late, reordered, retried) deliveries arrive.
    fake.putSubscription(steps[steps.length - 1].subscription);
    const events = steps.flatMap((step) => step.events);
    const deliveries = shuffled([...events, ...events, ...events.filter((_, i) => i % 2 === 0)], 20261202);
    expect(deliveries.map((event) => event.id)).not.toEqual([...events, ...events].map((event) => event.id));
    const readsBefore = fake.requestsTo('GET', `/v1/subscriptions/${subscriptionId}`).length;

    const outcomes = new Map<string, string[]>();
    for (const event of deliveries) {
      const { status, body } = await send(event);
      expect(status).toBe(200);
      outcomes.set(event.id as string, [...(outcomes.get(event.id as string) ?? []), body.outcome as string]);
    }

    for (const event of events) {
      const seen = outcomes.get(event.id as string)!;
      expect(seen[0], `first delivery of ${event.type}`).toBe('applied');
      expect(seen.slice(1).every((outcome) => outcome === 'duplicate'), `later deliveries of ${event.type}: ${seen}`).toBe(true);
    }
    expect(stateOf(await subscriptionRow(stack, user.id))).toEqual(stateOf(await subscriptionRow(stack, inOrderUser.id)));
    expect(stateOf(await subscriptionRow(stack, user.id))).toEqual(steps[steps.length - 1].expected);
    // Once per event: a duplicate is answered from the event log without asking Stripe again.
    expect(fake.requestsTo('GET', `/v1/subscriptions/${subscriptionId}`).length - readsBefore).toBe(events.length);
    const log = await eventLog(stack, events.map((event) => event.id as string));
    expect(log).toHaveLength(events.length);
    expect(log.every((entry) => entry.processed)).toBe(true);
  });

  it('applies one event delivered five times at once exactly once', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { steps } = lifecycle(user.id, customer);
    fake.putSubscription(steps[0].subscription);
    const delivery = await signedDelivery(steps[0].events[1], WEBHOOK_SECRET);
    const bodies = await Promise.all(Array.from({ length: 5 }, () => deliver(stack, delivery).then((r) => r.json())));
    expect(bodies.map((body) => body.outcome).sort()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(stateOf(await subscriptionRow(stack, user.id))).toEqual(steps[0].expected);
  });

  it('never lets an older read of Stripe overwrite a newer one (stale)', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { subscriptionId, steps } = lifecycle(user.id, customer);
    fake.putSubscription(steps[1].subscription);
    expect((await send(steps[1].events[0])).body.outcome).toBe('applied');

    // A read taken before the one stored (a slow, concurrent delivery) is refused by the database.
    const older = {
      id: subscriptionId,
      customer,
      status: 'active',
      price_id: prices.pro,
      current_period_end: P1,
      cancel_at_period_end: false,
    };
    const { data, error } = await serviceClient(stack).rpc('stripe_apply_event', {
      event_id: stripeId('evt'),
      event_type: 'customer.subscription.created',
      payload: {},
      subscription: older,
      synced_at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(error).toBeNull();
    expect(data).toBe('stale');
    expect(stateOf(await subscriptionRow(stack, user.id))).toEqual(steps[1].expected);
  });

  it('keeps a new live subscription when the old one\'s end is reported late', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const first = lifecycle(user.id, customer);
    const second = lifecycle(user.id, customer);
    // The first subscription ended; the user subscribed again; the end of the first arrives last.
    fake.putSubscription(first.steps[4].subscription);
    fake.putSubscription(second.steps[0].subscription);
    expect((await send(second.steps[0].events[1])).body.outcome).toBe('applied');
    expect((await send(first.steps[4].events[0])).body.outcome).toBe('stale');
    expect(await subscriptionRow(stack, user.id)).toMatchObject({ stripe_subscription_id: second.subscriptionId, status: 'active', plan_id: 'pro' });
  });

  it('acknowledges an event for a customer billing never created, records why, and changes no subscription', async () => {
    const user = await mintUser(stack);
    const stranger = stripeId('cus');
    const { steps } = lifecycle(user.id, stranger);
    fake.putSubscription(steps[0].subscription);
    const event = steps[0].events[1];
    expect(await send(event)).toEqual({ status: 200, body: { received: true, outcome: 'unknown_customer' } });
    expect(await subscriptionRow(stack, user.id)).toBeUndefined();
    expect(await eventLog(stack, [event.id as string])).toEqual([
      { id: event.id, type: 'customer.subscription.created', processed: true, error: 'unknown_customer' },
    ]);
  });

  it('acknowledges and ignores event types it does not handle, recording nothing', async () => {
    const event = stripeEvent('customer.created', { id: stripeId('cus'), object: 'customer' }, P0);
    const requestsBefore = fake.requests.length;
    expect(await send(event)).toEqual({ status: 200, body: { received: true, outcome: 'ignored' } });
    expect(await eventLog(stack, [event.id as string])).toEqual([]);
    expect(fake.requests.length).toBe(requestsBefore);
  });
});

describe('POST /functions/v1/stripe-webhook: the signature is the authentication', () => {
  async function expectRefused(response: Response, code: string, message: string, user: { id: string }, eventId: string) {
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 400, body: { error: { code, message } } });
    expect(await subscriptionRow(stack, user.id)).toBeUndefined();
    expect(await eventLog(stack, [eventId])).toEqual([]);
  }

  async function arranged() {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { steps } = lifecycle(user.id, customer);
    fake.putSubscription(steps[0].subscription);
    return { user, event: steps[0].events[1] };
  }

  const invalid = 'The Stripe-Signature does not match the body, or is too old.';

  it('refuses a delivery without Stripe-Signature with 400 missing_signature, applying nothing', async () => {
    const { user, event } = await arranged();
    const response = await fetch(`${stack.apiUrl}/functions/v1/stripe-webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    });
    await expectRefused(response, 'missing_signature', 'The Stripe-Signature header is required.', user, event.id as string);
  });

  it('refuses a forged body (signed, then changed) with 400 invalid_signature, applying nothing', async () => {
    const { user, event } = await arranged();
    const signed = await signedDelivery(event, WEBHOOK_SECRET);
    const forged = { ...signed, body: signed.body.replace('"active"', '"trialing"') };
    expect(forged.body).not.toBe(signed.body);
    await expectRefused(await deliver(stack, forged), 'invalid_signature', invalid, user, event.id as string);
  });

  it('refuses a made-up signature with 400 invalid_signature', async () => {
    const { user, event } = await arranged();
    const made = { body: JSON.stringify(event), signature: `t=${Math.floor(Date.now() / 1000)},v1=${'ab'.repeat(32)}` };
    await expectRefused(await deliver(stack, made), 'invalid_signature', invalid, user, event.id as string);
  });

  it('refuses a delivery signed more than 300 s ago (a replay) with 400 invalid_signature', async () => {
    const { user, event } = await arranged();
    const old = await signedDelivery(event, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 301);
    await expectRefused(await deliver(stack, old), 'invalid_signature', invalid, user, event.id as string);
  });

  it('refuses a delivery signed with another endpoint\'s secret with 400 invalid_signature', async () => {
    const { user, event } = await arranged();
    const other = await signedDelivery(event, 'whsec_another_endpoint_secret_0000000000');
    await expectRefused(await deliver(stack, other), 'invalid_signature', invalid, user, event.id as string);
  });

  it('accepts the same event once it is signed properly (the refusals changed nothing)', async () => {
    const { user, event } = await arranged();
    expect((await send(event)).body.outcome).toBe('applied');
    expect(await subscriptionRow(stack, user.id)).toMatchObject({ plan_id: 'pro', status: 'active' });
  });
});

describe('a plan applied by the webhook changes the limits at once', () => {
  it('lets a user at the free plan\'s 20 documents upload a 21st through Storage once the webhook applies pro', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { steps } = lifecycle(user.id, customer);
    const upload = (name: string) =>
      user.client.storage.from('documents').upload(`${user.id}/${name}`, new Blob(['x'], { type: 'text/plain' }), { contentType: 'text/plain' });
    for (let i = 1; i <= 20; i++) expect((await upload(`file-${i}.txt`)).error, `file ${i}`).toBeNull();
    const refused = await upload('file-21.txt');
    expect(refused.error?.message).toBe('documents: the Free plan allows 20 documents; delete one or upgrade to add more');

    fake.putSubscription(steps[0].subscription);
    for (const event of steps[0].events) expect((await send(event)).status).toBe(200);
    expect((await upload('file-21.txt')).error).toBeNull();
  });

  it('raises upload size, document count and daily questions for the user, through SQL and the functions alike', async () => {
    const user = await mintUser(stack);
    const customer = await linkCustomer(stack, fake, user.id);
    const { steps } = lifecycle(user.id, customer);
    const limitsInSql = async () =>
      (
        await stack.db.query<{ id: string; max_documents: number; max_upload_bytes: string; daily_request_limit: number }>(
          'select id, max_documents, max_upload_bytes::text, daily_request_limit from private.plan_for($1)',
          [user.id],
        )
      ).rows[0];
    expect(await limitsInSql()).toEqual({ id: 'free', max_documents: 20, max_upload_bytes: String(10 * 1024 * 1024), daily_request_limit: 20 });
    expect((await currentPlan(user.client as unknown as Client)).id).toBe('free');

    fake.putSubscription(steps[0].subscription);
    for (const event of steps[0].events) expect((await send(event)).status).toBe(200);

    expect(await limitsInSql()).toEqual({ id: 'pro', max_documents: 1000, max_upload_bytes: String(50 * 1024 * 1024), daily_request_limit: 500 });
    expect(await currentPlan(user.client as unknown as Client)).toEqual({
      id: 'pro',
      name: 'Pro',
      maxUploadBytes: 50 * 1024 * 1024,
      maxDocuments: 1000,
      dailyRequestLimit: 500,
    });
    const response = await fetch(`${stack.apiUrl}/functions/v1/billing`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(await response.json()).toEqual({
      plan: { id: 'pro', name: 'Pro' },
      status: 'active',
      currentPeriodEnd: new Date(P1 * 1000).toISOString(),
      cancelAtPeriodEnd: false,
      canManage: true,
    });

    // And back to free when the subscription ends.
    fake.putSubscription(steps[4].subscription);
    expect((await send(steps[4].events[0])).body.outcome).toBe('applied');
    expect((await limitsInSql()).id).toBe('free');
  });
});
