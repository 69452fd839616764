import { allUsers, type CliContext, findUser, table, unwrap } from './context.ts';
import { CliError } from './errors.ts';
import { activePlans } from './users.ts';

async function plans(ctx: CliContext) {
  return unwrap(ctx, await ctx.admin.from('plans').select('id, name, daily_request_limit').order('id'), 'Reading plans');
}

/**
 * `set-plan <email|id> <plan>`: puts the user on a plan by writing their subscription row as the service role
 * (what the Stripe webhook does); `free` removes the row. A Stripe-managed subscription is overwritten by the
 * next webhook event, so that is said.
 */
export async function setPlan(ctx: CliContext, who: string, planId: string): Promise<void> {
  const known = await plans(ctx);
  if (!known.some((p) => p.id === planId)) {
    throw new CliError('unknown_plan', `No plan "${planId}". Plans: ${known.map((p) => p.id).join(', ')}.`);
  }
  const user = await findUser(ctx, who);
  const existing = unwrap(
    ctx,
    await ctx.admin.from('subscriptions').select('plan_id, status, stripe_subscription_id').eq('user_id', user.id).maybeSingle(),
    'Reading the subscription',
  );
  if (planId === 'free') {
    unwrap(ctx, await ctx.admin.from('subscriptions').delete().eq('user_id', user.id), 'Removing the subscription');
  } else {
    unwrap(
      ctx,
      await ctx.admin
        .from('subscriptions')
        .upsert({ user_id: user.id, plan_id: planId, status: 'active', updated_at: new Date().toISOString() }, { onConflict: 'user_id' }),
      'Writing the subscription',
    );
  }
  if (existing?.stripe_subscription_id) {
    ctx.progress(`Note: ${user.email} has Stripe subscription ${existing.stripe_subscription_id}; its next webhook event sets the plan again.`);
  }
  const result = { user_id: user.id, email: user.email, plan: planId, previous_plan: existing?.plan_id ?? 'free' };
  ctx.print(result, () => `${user.email} is now on plan ${planId} (was ${result.previous_plan}).`);
}

/** `usage [email|id]`: chat requests counted today (UTC) against each user's plan limit. */
export async function usage(ctx: CliContext, who: string | undefined): Promise<void> {
  const today = new Date().toISOString().slice(0, 10);
  const [known, subscribed] = await Promise.all([plans(ctx), activePlans(ctx)]);
  const limits = new Map(known.map((p) => [p.id, p.daily_request_limit]));
  const users = who ? [await findUser(ctx, who)] : await allUsers(ctx);
  let query = ctx.admin.from('user_daily_usage').select('user_id, daily_requests_count').eq('date', today);
  if (who) query = query.eq('user_id', users[0].id);
  const counts = new Map(unwrap(ctx, await query, 'Reading usage').map((r) => [r.user_id, r.daily_requests_count]));
  const rows = users.map((u) => {
    const plan = subscribed.get(u.id) ?? 'free';
    return { email: u.email, user_id: u.id, date: today, plan, used: counts.get(u.id) ?? 0, limit: limits.get(plan) ?? null };
  });
  ctx.print(who ? rows[0] : rows, () => table(rows, ['email', 'plan', 'used', 'limit', 'date']));
}
