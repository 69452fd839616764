import type { SupabaseClient } from '@supabase/supabase-js';
import { ApiError } from './errors.ts';

/** The plan a user is on, as far as limits go. */
export interface PlanLimits {
  id: string;
  name: string;
  maxUploadBytes: number;
  maxDocuments: number;
}

/** Subscription statuses that keep a paid plan's limits (Stripe keeps `past_due` active while it retries). */
const ACTIVE_STATUSES = new Set(['active', 'trialing', 'past_due']);

/**
 * The caller's plan limits, read through the caller's own client (RLS: a user sees their subscription and every
 * plan). No subscription, or one that is not active, means the `free` plan.
 */
export async function currentPlan(client: SupabaseClient): Promise<PlanLimits> {
  const subscription = await client.from('subscriptions').select('plan_id, status').maybeSingle();
  if (subscription.error) throw new ApiError(500, 'internal_error', 'The subscription could not be read.', { cause: subscription.error });
  const planId = subscription.data && ACTIVE_STATUSES.has(subscription.data.status) ? (subscription.data.plan_id as string) : 'free';
  const plan = await client.from('plans').select('id, name, max_upload_bytes, max_documents').eq('id', planId).single();
  if (plan.error) throw new ApiError(500, 'internal_error', `Plan ${planId} could not be read.`, { cause: plan.error });
  return {
    id: plan.data.id as string,
    name: plan.data.name as string,
    maxUploadBytes: Number(plan.data.max_upload_bytes),
    maxDocuments: Number(plan.data.max_documents),
  };
}
