-- Plans and the subscription that puts a user on one. Plans are public reference data; a subscription is
-- written only by the Stripe webhook (service role) and read by its owner.

create table public.plans (
  id text primary key check (id ~ '^[a-z][a-z0-9_]*$'),
  name text not null,
  daily_request_limit integer not null check (daily_request_limit >= 0),
  max_upload_bytes bigint not null check (max_upload_bytes > 0),
  max_documents integer not null check (max_documents > 0),
  stripe_price_id text unique,
  created_at timestamptz not null default now()
);
comment on table public.plans is 'Billing plans and the limits each grants.';
comment on column public.plans.daily_request_limit is 'Chat requests a user on this plan may make per UTC day.';
comment on column public.plans.max_upload_bytes is 'Largest single document a user on this plan may upload.';
comment on column public.plans.max_documents is 'Documents a user on this plan may keep.';
comment on column public.plans.stripe_price_id is 'Stripe price that checkout uses for this plan; null for free plans.';

insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents) values
  ('free', 'Free', 20, 10 * 1024 * 1024, 20),
  ('pro', 'Pro', 500, 50 * 1024 * 1024, 1000);

alter table public.plans enable row level security;
revoke all on public.plans from anon, authenticated, service_role;
grant select on public.plans to anon, authenticated;
grant all on public.plans to service_role;

-- Anyone, signed in or not, may read the plans (the pricing page needs them).
create policy plans_select_anon on public.plans for select to anon using (true);
create policy plans_select_authenticated on public.plans for select to authenticated using (true);

create table public.subscriptions (
  user_id uuid primary key references auth.users (id) on delete cascade,
  plan_id text not null references public.plans (id),
  status text not null check (status in ('trialing', 'active', 'past_due', 'canceled', 'incomplete', 'incomplete_expired', 'unpaid', 'paused')),
  stripe_customer_id text unique,
  stripe_subscription_id text unique,
  current_period_end timestamptz,
  cancel_at_period_end boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index subscriptions_plan_id_idx on public.subscriptions (plan_id);
comment on table public.subscriptions is 'A user''s paid plan as Stripe last reported it; no row means the free plan.';
comment on column public.subscriptions.status is 'Stripe subscription status.';
comment on column public.subscriptions.current_period_end is 'When the paid period ends; the plan lapses after it unless renewed.';

alter table public.subscriptions enable row level security;
revoke all on public.subscriptions from anon, authenticated, service_role;
grant select on public.subscriptions to authenticated;
grant all on public.subscriptions to service_role;

-- A user may read their own subscription; only the webhook (service role) writes.
create policy subscriptions_select_authenticated_own on public.subscriptions for select to authenticated
  using (user_id = (select auth.uid()));
