import { createRoute, z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import { limitBody } from '../_shared/body.ts';
import { fromStripeError, isStripeError, Stripe } from '../_shared/billing/stripe.ts';
import { unwrap } from '../_shared/database-errors.ts';
import type { Json } from '../_shared/database.types.ts';
import { ApiError } from '../_shared/errors.ts';
import type { Logger } from '../_shared/log.ts';
import { documentedError } from '../_shared/openapi.ts';
import type { Client } from '../_shared/routes.ts';
import { HANDLED_EVENT_TYPES, type SubscriptionState, subscriptionIdOf, subscriptionState } from './events.ts';

/**
 * What the webhook app needs: the signing secret and a Stripe client (either absent when not configured), and the
 * service client — Stripe, not a user, is the caller, and the signature is its credential.
 */
export interface WebhookDeps {
  webhookSecret?: string;
  stripe?: Stripe;
  serviceClient: Client;
  logger?: Logger;
  /** The current time, for the signature's age; tests move it. Default `Date.now`. */
  now?: () => number;
}

/** Stripe's default: a signature older than five minutes is refused, so a captured payload cannot be replayed. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;
const MAX_BODY_BYTES = 512 * 1024;

const OUTCOMES = ['ignored', 'duplicate', 'applied', 'stale', 'no_subscription', 'unknown_customer', 'unknown_price'] as const;
type Outcome = (typeof OUTCOMES)[number];

const ReceivedSchema = z
  .object({
    received: z.literal(true),
    outcome: z.enum(OUTCOMES).openapi({ description: 'What the event did (ignored: a type this app does not handle).' }),
  })
  .openapi('WebhookReceived');

/**
 * The `stripe-webhook` function: `POST /stripe-webhook` takes Stripe's events. The `Stripe-Signature` header is
 * checked on the raw body (HMAC with the endpoint's secret, five minutes' tolerance) before anything else. For the
 * subscription lifecycle events it re-reads the subscription from Stripe and applies that state through
 * `public.stripe_apply_event`: once per event id, and never over a newer read, so duplicated or reordered
 * deliveries end in the state Stripe holds. Other event types are acknowledged and ignored.
 */
export function createApp(deps: WebhookDeps) {
  const app = createFunctionApp({
    name: 'stripe-webhook',
    description: "Applies Stripe's signed subscription events to the users' plans.",
    logger: deps.logger,
  });
  const cryptoProvider = Stripe.createSubtleCryptoProvider();
  const now = deps.now ?? Date.now;

  const receive = createRoute({
    method: 'post',
    path: '/',
    summary: 'Receive a Stripe event (authenticated by its Stripe-Signature)',
    middleware: [limitBody(MAX_BODY_BYTES, () => new ApiError(413, 'payload_too_large', `The event must be at most ${MAX_BODY_BYTES} bytes.`))] as const,
    request: { headers: z.object({ 'stripe-signature': z.string().max(4096).optional() }) },
    responses: {
      200: { description: 'Event received', content: { 'application/json': { schema: ReceivedSchema } } },
      400: documentedError('missing_signature or invalid_signature: nothing was applied'),
      413: documentedError('payload_too_large'),
      502: documentedError('billing_provider_error: the subscription could not be read from Stripe; Stripe retries'),
      503: documentedError('billing_not_configured: STRIPE_WEBHOOK_SECRET or STRIPE_SECRET_KEY is not set'),
    },
  });
  app.openapi(receive, async (c) => {
    const { stripe, webhookSecret } = deps;
    if (!webhookSecret || !stripe) {
      const missing = [!webhookSecret && 'STRIPE_WEBHOOK_SECRET', !stripe && 'STRIPE_SECRET_KEY'].filter(Boolean).join(' and ');
      throw new ApiError(503, 'billing_not_configured', `The Stripe webhook is not set up on this server: set ${missing} (see docs/billing.md).`);
    }
    const signature = c.req.valid('header')['stripe-signature'];
    if (!signature) throw new ApiError(400, 'missing_signature', 'The Stripe-Signature header is required.');
    const body = await c.req.text();
    let event: Stripe.Event;
    try {
      event = await stripe.webhooks.constructEventAsync(
        body,
        signature,
        webhookSecret,
        SIGNATURE_TOLERANCE_SECONDS,
        cryptoProvider,
        now(), // milliseconds: stripe-node divides by 1000
      );
    } catch (error) {
      c.var.logger.log('warn', 'stripe signature refused', { reason: error instanceof Error ? error.message : String(error) });
      throw new ApiError(400, 'invalid_signature', 'The Stripe-Signature does not match the body, or is too old.');
    }

    const outcome = await applyEvent(stripe, event);
    c.var.logger.log('info', 'stripe event', { event_id: event.id, event_type: event.type, outcome });
    return c.json({ received: true as const, outcome }, 200);
  });

  async function applyEvent(stripe: Stripe, event: Stripe.Event): Promise<Outcome> {
    if (!HANDLED_EVENT_TYPES.has(event.type)) return 'ignored';
    const service = deps.serviceClient;
    // The database's clock, taken before the read: every instance of this function stamps reads on one clock.
    const syncedAt = unwrap(await service.rpc('stripe_event_begin', { event_id: event.id }));
    if (syncedAt === null) return 'duplicate';
    const subscriptionId = subscriptionIdOf(event);
    let state: SubscriptionState | null = null;
    if (subscriptionId) {
      try {
        state = subscriptionState(await stripe.subscriptions.retrieve(subscriptionId));
      } catch (error) {
        // A subscription Stripe does not know (another mode or account): nothing to apply, and retrying won't help.
        if (!(isStripeError(error) && error.statusCode === 404)) throw fromStripeError(error);
      }
    }
    const outcome = unwrap(
      await service.rpc('stripe_apply_event', {
        event_id: event.id,
        event_type: event.type,
        payload: event as unknown as Json,
        subscription: state as unknown as Json,
        synced_at: syncedAt,
      }),
    );
    return outcome as Outcome;
  }

  return app;
}
