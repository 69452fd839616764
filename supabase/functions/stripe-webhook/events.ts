import type { Stripe } from '../_shared/billing/stripe.ts';

/** The Stripe event types the webhook applies; every other type is acknowledged and ignored. */
export const HANDLED_EVENT_TYPES = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
]);

/** A subscription as `public.stripe_apply_event` takes it. */
export interface SubscriptionState {
  id: string;
  customer: string;
  status: string;
  price_id: string | null;
  /** Unix seconds. */
  current_period_end: number | null;
  cancel_at_period_end: boolean;
}

type Loose = Record<string, unknown>;

const idOf = (value: unknown): string | null =>
  typeof value === 'string' ? value : value && typeof value === 'object' && typeof (value as Loose).id === 'string' ? ((value as Loose).id as string) : null;

/**
 * The id of the subscription an event is about, or null. Read loosely: the payload has the shape of the webhook
 * endpoint's API version, which may differ from the library's (invoices name their subscription under
 * `parent.subscription_details` since 2025-03-31, as `subscription` before).
 */
export function subscriptionIdOf(event: Stripe.Event): string | null {
  const object = event.data.object as unknown as Loose;
  if (event.type.startsWith('customer.subscription.')) return idOf(object);
  if (event.type === 'checkout.session.completed') return object.mode === 'subscription' ? idOf(object.subscription) : null;
  if (event.type.startsWith('invoice.')) {
    const details = (object.parent as Loose | null | undefined)?.subscription_details as Loose | null | undefined;
    return idOf(details?.subscription) ?? idOf(object.subscription);
  }
  return null;
}

/** The fields `public.subscriptions` keeps, from a subscription retrieved with the library's API version. */
export function subscriptionState(subscription: Stripe.Subscription): SubscriptionState {
  // One plan per subscription: its first item carries the price and (since 2025-03-31) the period.
  const item = subscription.items.data[0];
  return {
    id: subscription.id,
    customer: idOf(subscription.customer) ?? '',
    status: subscription.status,
    price_id: item?.price.id ?? null,
    current_period_end: item?.current_period_end ?? null,
    cancel_at_period_end: subscription.cancel_at_period_end,
  };
}
