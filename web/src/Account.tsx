import { useEffect, useState } from 'react';
import type { Api, Billing, Plan, Usage } from './api.ts';
import { describeError, formatTime } from './errors.ts';

/**
 * The top bar: who is signed in, today's questions against the plan's limit, the plan, and the way to upgrade
 * (Stripe Checkout) or manage billing (Stripe's Customer Portal). A return from Checkout (`?billing=…`) is said.
 */
export function Account({ api, email, usageVersion }: { api: Api; email: string; usageVersion: number }) {
  const [usage, setUsage] = useState<Usage | null>(null);
  const [billing, setBilling] = useState<Billing | null>(null);
  const [plans, setPlans] = useState<Plan[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [notice] = useState(() => billingNotice(new URLSearchParams(window.location.search).get('billing')));

  useEffect(() => {
    api.usage().then(setUsage, (e) => setError(describeError(e)));
  }, [api, usageVersion]);

  useEffect(() => {
    api.billing().then(setBilling, () => setBilling(null));
    api.plans().then(setPlans, () => setPlans([]));
  }, [api]);

  async function go(action: () => Promise<{ url: string }>) {
    setError(null);
    try {
      window.location.assign((await action()).url);
    } catch (caught) {
      setError(describeError(caught));
    }
  }

  const upgrades = plans.filter((plan) => plan.id !== (billing?.plan.id ?? 'free') && plan.id !== 'free');
  const fraction = usage && usage.limit > 0 ? Math.min(1, usage.used / usage.limit) : 0;
  return (
    <header className="account">
      <a href="/" className="brand">edgebrain</a>
      <div className="usage" aria-label="Questions today">
        {usage && (
          <>
            <meter min={0} max={usage.limit} value={usage.used} aria-label="Questions used today" />
            <span data-testid="usage-count">
              {usage.used} / {usage.limit} questions today
            </span>
            <span className="muted" title={`Resets at ${formatTime(usage.resets_at)}`}>
              {fraction >= 1 ? `resets at ${formatTime(usage.resets_at)}` : ''}
            </span>
          </>
        )}
      </div>
      <div className="plan">
        <span data-testid="plan-name">{billing?.plan.name ?? usage?.plan ?? ''} plan</span>
        {billing?.cancelAtPeriodEnd && billing.currentPeriodEnd && (
          <span className="muted"> · ends {new Date(billing.currentPeriodEnd).toLocaleDateString()}</span>
        )}
        {billing?.status === 'past_due' && <span className="error"> · payment failed, update your card</span>}
        {upgrades.map((plan) => (
          <button key={plan.id} type="button" onClick={() => go(() => api.checkout(plan.id))}>
            Upgrade to {plan.name}
          </button>
        ))}
        {billing?.canManage && (
          <button type="button" className="secondary" onClick={() => go(() => api.portal())}>
            Manage billing
          </button>
        )}
      </div>
      <div className="who">
        <a href="/docs/">API docs</a>
        <span className="muted">{email}</span>
        <button type="button" className="secondary" onClick={() => api.supabase.auth.signOut()}>
          Sign out
        </button>
      </div>
      {(error || notice) && (
        <p role={error ? 'alert' : 'status'} className={error ? 'error banner' : 'notice banner'}>
          {error ?? notice}
        </p>
      )}
    </header>
  );
}

function billingNotice(state: string | null): string | null {
  if (state === 'success') return 'Thank you! Your plan changes as soon as the payment is confirmed.';
  if (state === 'cancelled') return 'Checkout was cancelled; nothing was charged.';
  return null;
}
