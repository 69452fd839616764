import { unwrap } from './database-errors.ts';
import type { Client } from './routes.ts';

/** The plan a user is on, as far as limits go. */
export interface PlanLimits {
  id: string;
  name: string;
  maxUploadBytes: number;
  maxDocuments: number;
  /** Chat questions per UTC day. */
  dailyRequestLimit: number;
}

/** Subscription statuses that keep a paid plan's limits (Stripe keeps `past_due` active while it retries). */
const ACTIVE_STATUSES = new Set(['active', 'trialing', 'past_due']);

/** Whether a subscription in this Stripe status grants its plan's limits (the same rule as `private.plan_for`). */
export function isActiveStatus(status: string | null | undefined): boolean {
  return status != null && ACTIVE_STATUSES.has(status);
}

/**
 * The caller's plan limits, read through the caller's own client (RLS: a user sees their subscription and every
 * plan). No subscription, or one that is not active, means the `free` plan.
 */
export async function currentPlan(client: Client): Promise<PlanLimits> {
  const subscription = unwrap(await client.from('subscriptions').select('plan_id, status').maybeSingle());
  const planId = subscription && isActiveStatus(subscription.status) ? subscription.plan_id : 'free';
  const plan = unwrap(await client.from('plans').select('id, name, max_upload_bytes, max_documents, daily_request_limit').eq('id', planId).single());
  return {
    id: plan.id,
    name: plan.name,
    maxUploadBytes: Number(plan.max_upload_bytes),
    maxDocuments: Number(plan.max_documents),
    dailyRequestLimit: Number(plan.daily_request_limit),
  };
}
