/**
 * Stripe objects and events as Stripe sends them (API version 2026-10-28: the period lives on the subscription
 * item, an invoice names its subscription under `parent.subscription_details`), and webhook deliveries signed with
 * stripe-node's own `generateTestHeaderStringAsync`.
 */
import Stripe from 'stripe';
import { stripeId } from './fake-stripe.ts';

type Json = Record<string, unknown>;

/** The fields of a subscription that billing reads; the rest is filled in realistically. */
export interface SubscriptionFields {
  id: string;
  customer: string;
  price: string;
  status: string;
  /** Unix seconds. */
  periodStart: number;
  periodEnd: number;
  cancelAtPeriodEnd?: boolean;
  metadata?: Record<string, string>;
}

/** A `subscription` object as `GET /v1/subscriptions/:id` returns it. */
export function subscriptionObject(fields: SubscriptionFields): Json {
  return {
    id: fields.id,
    object: 'subscription',
    customer: fields.customer,
    status: fields.status,
    cancel_at_period_end: fields.cancelAtPeriodEnd ?? false,
    cancel_at: fields.cancelAtPeriodEnd ? fields.periodEnd : null,
    canceled_at: fields.status === 'canceled' ? fields.periodEnd : null,
    ended_at: fields.status === 'canceled' ? fields.periodEnd : null,
    collection_method: 'charge_automatically',
    created: fields.periodStart,
    start_date: fields.periodStart,
    currency: 'usd',
    items: {
      object: 'list',
      data: [
        {
          id: `si_${fields.id.slice(4)}`,
          object: 'subscription_item',
          price: { id: fields.price, object: 'price', currency: 'usd', recurring: { interval: 'month', interval_count: 1 }, type: 'recurring' },
          quantity: 1,
          subscription: fields.id,
          current_period_start: fields.periodStart,
          current_period_end: fields.periodEnd,
        },
      ],
      has_more: false,
      url: `/v1/subscription_items?subscription=${fields.id}`,
    },
    latest_invoice: stripeId('in'),
    metadata: fields.metadata ?? {},
    livemode: false,
  };
}

/** A completed Checkout Session in subscription mode. */
export function checkoutSessionObject(fields: { customer: string; subscription: string; userId: string; planId: string }): Json {
  return {
    id: stripeId('cs_test'),
    object: 'checkout.session',
    mode: 'subscription',
    status: 'complete',
    payment_status: 'paid',
    customer: fields.customer,
    subscription: fields.subscription,
    client_reference_id: fields.userId,
    metadata: { user_id: fields.userId, plan_id: fields.planId },
    livemode: false,
  };
}

/** An invoice of a subscription (paid or not). */
export function invoiceObject(fields: { customer: string; subscription: string; paid: boolean; periodStart: number; periodEnd: number }): Json {
  return {
    id: stripeId('in'),
    object: 'invoice',
    customer: fields.customer,
    status: fields.paid ? 'paid' : 'open',
    billing_reason: 'subscription_cycle',
    amount_due: 1900,
    amount_paid: fields.paid ? 1900 : 0,
    currency: 'usd',
    period_start: fields.periodStart,
    period_end: fields.periodEnd,
    parent: { type: 'subscription_details', subscription_details: { subscription: fields.subscription, metadata: {} }, quote_details: null },
    livemode: false,
  };
}

/** A Stripe event wrapping `object`, created at `created` (Unix seconds). */
export function stripeEvent(type: string, object: Json, created: number): Json {
  return {
    id: stripeId('evt'),
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: stripeId('req'), idempotency_key: null },
    type,
  };
}

/** A webhook delivery: the exact body and its `Stripe-Signature` header. */
export interface Delivery {
  body: string;
  signature: string;
}

/** Signs `event` as Stripe would for an endpoint with `secret`, at `timestamp` (Unix seconds; default now). */
export async function signedDelivery(event: Json, secret: string, timestamp?: number): Promise<Delivery> {
  const body = JSON.stringify(event);
  const signature = await Stripe.webhooks.generateTestHeaderStringAsync({
    payload: body,
    secret,
    ...(timestamp !== undefined && { timestamp }),
    cryptoProvider: Stripe.createSubtleCryptoProvider(),
  });
  return { body, signature };
}
