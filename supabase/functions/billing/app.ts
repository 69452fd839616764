import { z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import { limitBody } from '../_shared/body.ts';
import { type Stripe, fromStripeError } from '../_shared/billing/stripe.ts';
import { unwrap } from '../_shared/database-errors.ts';
import { ApiError } from '../_shared/errors.ts';
import type { Logger } from '../_shared/log.ts';
import { documentedError } from '../_shared/openapi.ts';
import { isActiveStatus } from '../_shared/plans.ts';
import { type Client, type UserRouteDeps, userRoute } from '../_shared/routes.ts';

/**
 * What the billing app needs: the caller's client (RLS) for everything it reads; the service client only to
 * record the Stripe customer it creates for the caller, which users may not write; and a Stripe client, absent
 * when `STRIPE_SECRET_KEY` is not set.
 */
export interface BillingDeps extends UserRouteDeps {
  serviceClient: Client;
  stripe?: Stripe;
  successUrl: string;
  cancelUrl: string;
  portalReturnUrl: string;
  logger?: Logger;
}

const MAX_BODY_BYTES = 4096;

const BillingStatusSchema = z
  .object({
    plan: z.object({ id: z.string(), name: z.string() }).openapi({ description: 'The plan whose limits apply now.' }),
    status: z.string().nullable().openapi({ description: 'Stripe subscription status; null without a subscription.', example: 'active' }),
    currentPeriodEnd: z.string().nullable().openapi({ description: 'When the paid period ends (ISO 8601).' }),
    cancelAtPeriodEnd: z.boolean().openapi({ description: 'The subscription ends at currentPeriodEnd instead of renewing.' }),
    canManage: z.boolean().openapi({ description: 'A Stripe customer exists, so the Customer Portal can open.' }),
  })
  .openapi('BillingStatus');

const RedirectSchema = z.object({ url: z.url().openapi({ description: 'Send the browser here.' }) }).openapi('BillingRedirect');

const CheckoutRequestSchema = z
  .object({
    plan: z.string().min(1).max(64).regex(/^[a-z][a-z0-9_]*$/, 'plan must be a plan id such as "pro"').openapi({ example: 'pro' }),
  })
  .openapi('CheckoutRequest');

const notConfigured = () =>
  new ApiError(503, 'billing_not_configured', 'Billing is not set up on this server: set STRIPE_SECRET_KEY (see docs/billing.md).');

/**
 * The `billing` function: the caller's plan and subscription (`GET /billing`), a Stripe Checkout Session in
 * subscription mode for a plan (`POST /billing/checkout`), and a Customer Portal session (`POST /billing/portal`).
 * The Stripe customer is created once per user and kept server-side (`public.stripe_customers`); the plan, its
 * price and the customer come from the database, never from the request. Every Stripe write carries an
 * idempotency key, so a retried request (same `X-Request-Id`) gets the same session.
 */
export function createApp(deps: BillingDeps) {
  const app = createFunctionApp({
    name: 'billing',
    description: "The caller's plan, Stripe Checkout to subscribe, and the Stripe Customer Portal to manage billing.",
    logger: deps.logger,
  });

  const status = userRoute(deps, {
    method: 'get',
    path: '/',
    summary: "The caller's plan, subscription status and period end",
    responses: { 200: { description: 'Billing status', content: { 'application/json': { schema: BillingStatusSchema } } } },
  });
  app.openapi(status, async (c) => {
    const supabase = c.var.supabase;
    const [subscription, customer] = await Promise.all([
      supabase.from('subscriptions').select('plan_id, status, current_period_end, cancel_at_period_end').maybeSingle().then(unwrap),
      supabase.from('stripe_customers').select('user_id').maybeSingle().then(unwrap),
    ]);
    const planId = subscription && isActiveStatus(subscription.status) ? subscription.plan_id : 'free';
    const plan = unwrap(await supabase.from('plans').select('id, name').eq('id', planId).single());
    return c.json(
      {
        plan: { id: plan.id, name: plan.name },
        status: subscription?.status ?? null,
        currentPeriodEnd: subscription?.current_period_end ? new Date(subscription.current_period_end).toISOString() : null,
        cancelAtPeriodEnd: subscription?.cancel_at_period_end ?? false,
        canManage: customer !== null,
      },
      200,
    );
  });

  const checkout = userRoute(deps, {
    method: 'post',
    path: '/checkout',
    summary: 'Start Stripe Checkout to subscribe to a plan',
    middleware: [limitBody(MAX_BODY_BYTES, () => new ApiError(413, 'payload_too_large', `The body must be at most ${MAX_BODY_BYTES} bytes.`))],
    request: { body: { required: true, content: { 'application/json': { schema: CheckoutRequestSchema } } } },
    responses: {
      200: { description: 'The Checkout page to send the browser to', content: { 'application/json': { schema: RedirectSchema } } },
      400: documentedError('validation_failed or unknown_plan'),
      409: documentedError('plan_not_purchasable (no Stripe price, e.g. free) or already_subscribed (use the portal)'),
      413: documentedError('payload_too_large'),
      502: documentedError('billing_provider_error: Stripe did not answer as expected'),
      503: documentedError('billing_not_configured: STRIPE_SECRET_KEY is not set'),
    },
  });
  app.openapi(checkout, async (c) => {
    const stripe = deps.stripe;
    if (!stripe) throw notConfigured();
    const { plan: planId } = c.req.valid('json');
    const supabase = c.var.supabase;
    const user = c.var.user;
    const plan = unwrap(await supabase.from('plans').select('id, name, stripe_price_id').eq('id', planId).maybeSingle());
    if (!plan) throw new ApiError(400, 'unknown_plan', `There is no plan "${planId}".`);
    if (!plan.stripe_price_id) {
      throw new ApiError(409, 'plan_not_purchasable', `The ${plan.name} plan has no Stripe price to check out; run npm run stripe:sync.`);
    }
    const subscription = unwrap(await supabase.from('subscriptions').select('plan_id, status').maybeSingle());
    if (subscription && isActiveStatus(subscription.status)) {
      throw new ApiError(409, 'already_subscribed', 'You already have a subscription; change or cancel it in the billing portal.', {
        facts: { plan: subscription.plan_id },
      });
    }
    const customerId = await customerFor(stripe, deps.serviceClient, supabase, user.id, user.email);
    try {
      const session = await stripe.checkout.sessions.create(
        {
          mode: 'subscription',
          customer: customerId,
          client_reference_id: user.id,
          line_items: [{ price: plan.stripe_price_id, quantity: 1 }],
          success_url: deps.successUrl,
          cancel_url: deps.cancelUrl,
          metadata: { user_id: user.id, plan_id: plan.id },
          subscription_data: { metadata: { user_id: user.id, plan_id: plan.id } },
        },
        { idempotencyKey: `checkout:${user.id}:${plan.id}:${c.var.requestId}` },
      );
      if (!session.url) throw new ApiError(502, 'billing_provider_error', 'The payment provider returned no checkout page.');
      return c.json({ url: session.url }, 200);
    } catch (error) {
      throw error instanceof ApiError ? error : fromStripeError(error);
    }
  });

  const portal = userRoute(deps, {
    method: 'post',
    path: '/portal',
    summary: 'Open the Stripe Customer Portal to change plan, payment method or cancel',
    responses: {
      200: { description: 'The portal page to send the browser to', content: { 'application/json': { schema: RedirectSchema } } },
      409: documentedError('no_billing_account: the caller has never started a checkout'),
      502: documentedError('billing_provider_error: Stripe did not answer as expected'),
      503: documentedError('billing_not_configured: STRIPE_SECRET_KEY is not set'),
    },
  });
  app.openapi(portal, async (c) => {
    const stripe = deps.stripe;
    if (!stripe) throw notConfigured();
    const customer = unwrap(await c.var.supabase.from('stripe_customers').select('stripe_customer_id').maybeSingle());
    if (!customer) throw new ApiError(409, 'no_billing_account', 'You have no billing account yet; subscribe to a plan first.');
    try {
      const session = await stripe.billingPortal.sessions.create(
        { customer: customer.stripe_customer_id, return_url: deps.portalReturnUrl },
        { idempotencyKey: `portal:${c.var.user.id}:${c.var.requestId}` },
      );
      return c.json({ url: session.url }, 200);
    } catch (error) {
      throw fromStripeError(error);
    }
  });

  return app;
}

/**
 * The caller's Stripe customer: the one on record, or a new one. Two first checkouts racing create one customer:
 * the idempotency key is the user's, and the first row stored wins (the insert ignores a duplicate).
 */
async function customerFor(stripe: Stripe, service: Client, supabase: Client, userId: string, email: string | undefined): Promise<string> {
  const known = unwrap(await supabase.from('stripe_customers').select('stripe_customer_id').maybeSingle());
  if (known) return known.stripe_customer_id;
  let created: Stripe.Customer;
  try {
    created = await stripe.customers.create(
      { ...(email ? { email } : {}), metadata: { user_id: userId } },
      { idempotencyKey: `customer:${userId}` },
    );
  } catch (error) {
    throw fromStripeError(error);
  }
  unwrap(
    await service
      .from('stripe_customers')
      .upsert({ user_id: userId, stripe_customer_id: created.id }, { onConflict: 'user_id', ignoreDuplicates: true }),
  );
  const stored = unwrap(await supabase.from('stripe_customers').select('stripe_customer_id').single());
  return stored.stripe_customer_id;
}
