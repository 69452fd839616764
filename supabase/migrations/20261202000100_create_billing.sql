-- Stripe billing: which Stripe customer a user is, what each plan costs (for `npm run stripe:sync`), and the
-- RPCs the `stripe-webhook` function applies Stripe events with. A user reads their own customer row and
-- subscription; only the server (service role) writes them.
--
-- The webhook re-reads the subscription from Stripe for every event and hands the state here with the time it
-- asked (`synced_at`, from `stripe_event_begin`). `stripe_apply_event` records the event and applies that state in
-- one transaction, once per event id, and never lets an older read overwrite a newer one — so duplicated and
-- reordered deliveries end in the state Stripe holds.

create table public.stripe_customers (
  user_id uuid primary key references auth.users (id) on delete cascade,
  stripe_customer_id text not null unique check (stripe_customer_id ~ '^cus_[A-Za-z0-9]+$'),
  created_at timestamptz not null default now()
);
comment on table public.stripe_customers is 'The Stripe customer of each user who started a checkout; written by the billing function only.';
comment on column public.stripe_customers.stripe_customer_id is 'Stripe customer id (cus_…) the billing function created for this user.';

alter table public.stripe_customers enable row level security;
revoke all on public.stripe_customers from anon, authenticated, service_role;
grant select on public.stripe_customers to authenticated;
grant select, insert, delete on public.stripe_customers to service_role;

-- A user may read their own customer row (the app shows "Manage billing" when it exists); only the server writes.
create policy stripe_customers_select_authenticated_own on public.stripe_customers for select to authenticated
  using (user_id = (select auth.uid()));

alter table public.subscriptions add column stripe_synced_at timestamptz;
comment on column public.subscriptions.stripe_synced_at is 'When the webhook read this state from Stripe; an older read never overwrites it.';
comment on column public.subscriptions.cancel_at_period_end is 'The subscription ends at current_period_end instead of renewing.';

alter table public.plans
  add column price_amount integer check (price_amount >= 0),
  add column price_currency text not null default 'usd' check (price_currency ~ '^[a-z]{3}$'),
  add column price_interval text not null default 'month' check (price_interval in ('day', 'week', 'month', 'year'));
comment on column public.plans.price_amount is 'Price per interval in the currency''s smallest unit (cents); null for a free plan. `npm run stripe:sync` creates the Stripe price from it.';
comment on column public.plans.price_currency is 'ISO currency code of price_amount, lowercase.';
comment on column public.plans.price_interval is 'Billing interval of the Stripe price.';
update public.plans set price_amount = 1900 where id = 'pro';

-- Starts handling Stripe event `event_id`: null when it was applied already (the webhook answers a duplicate without
-- asking Stripe again), else the database's current time, which the webhook passes back as `synced_at` for the
-- subscription it then reads from Stripe — one clock for every function instance, taken before the read.
create function public.stripe_event_begin(event_id text)
returns timestamptz
language sql
stable
security invoker
set search_path = ''
as $$
  select case when exists (select 1 from private.stripe_events e where e.id = stripe_event_begin.event_id and e.processed_at is not null)
              then null else pg_catalog.now() end;
$$;
comment on function public.stripe_event_begin(text) is 'Null if a Stripe event was applied already, else the time to stamp its Stripe read with (webhook only).';

-- Records Stripe event `event_id` and applies `subscription` (the subscription as the webhook read it from Stripe
-- at `synced_at`: {id, customer, status, price_id, current_period_end, cancel_at_period_end}, or null when the
-- event concerns none) to the customer's user, all in one transaction. Returns what happened:
--   duplicate         the event was applied before; nothing changed
--   applied           the user's subscription row now holds this state
--   stale             a newer read is already stored, or this ended subscription would replace a live one
--   no_subscription   the event names no subscription (e.g. a one-off payment)
--   unknown_customer  the customer is not one the billing function created (recorded with the error)
--   unknown_price     no plan has this price (recorded with the error; run `npm run stripe:sync`)
create function public.stripe_apply_event(event_id text, event_type text, payload jsonb, subscription jsonb, synced_at timestamptz)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  live constant text[] := array['active', 'trialing', 'past_due'];
  event private.stripe_events;
  customer_user uuid;
  matched_plan text;
  existing public.subscriptions;
  outcome text;
begin
  if event_id !~ '^evt_' or length(event_id) > 255 then
    raise exception 'stripe_apply_event: event_id must be a Stripe event id' using errcode = '22023';
  end if;
  insert into private.stripe_events (id, type, payload) values (event_id, event_type, coalesce(payload, '{}'::jsonb))
    on conflict (id) do nothing;
  -- Concurrent deliveries of one event wait here for each other; the second sees it processed.
  select * into event from private.stripe_events e where e.id = stripe_apply_event.event_id for update;
  if event.processed_at is not null then
    return 'duplicate';
  end if;

  if subscription is null then
    outcome := 'no_subscription';
  else
    select c.user_id into customer_user from public.stripe_customers c where c.stripe_customer_id = subscription ->> 'customer';
    select p.id into matched_plan from public.plans p where p.stripe_price_id = subscription ->> 'price_id';
    if customer_user is null then
      outcome := 'unknown_customer';
    elsif matched_plan is null then
      outcome := 'unknown_price';
    else
      select * into existing from public.subscriptions s where s.user_id = customer_user for update;
      if found and (
        existing.stripe_synced_at > synced_at
        or (existing.stripe_subscription_id is distinct from subscription ->> 'id'
            and existing.status = any (live) and not (subscription ->> 'status') = any (live))
      ) then
        outcome := 'stale';
      else
        insert into public.subscriptions as s (user_id, plan_id, status, stripe_customer_id, stripe_subscription_id,
                                               current_period_end, cancel_at_period_end, stripe_synced_at, updated_at)
        values (customer_user, matched_plan, subscription ->> 'status', subscription ->> 'customer', subscription ->> 'id',
                pg_catalog.to_timestamp((subscription ->> 'current_period_end')::double precision),
                coalesce((subscription ->> 'cancel_at_period_end')::boolean, false), synced_at, pg_catalog.now())
        on conflict (user_id) do update
          set plan_id = excluded.plan_id, status = excluded.status, stripe_customer_id = excluded.stripe_customer_id,
              stripe_subscription_id = excluded.stripe_subscription_id, current_period_end = excluded.current_period_end,
              cancel_at_period_end = excluded.cancel_at_period_end, stripe_synced_at = excluded.stripe_synced_at,
              updated_at = excluded.updated_at;
        outcome := 'applied';
      end if;
    end if;
  end if;

  update private.stripe_events e
     set processed_at = pg_catalog.now(),
         error = case when outcome in ('unknown_customer', 'unknown_price') then outcome end
   where e.id = stripe_apply_event.event_id;
  return outcome;
end
$$;
comment on function public.stripe_apply_event(text, text, jsonb, jsonb, timestamptz) is 'Record a Stripe event and apply the subscription state read for it, once (webhook only).';

revoke execute on function public.stripe_event_begin(text), public.stripe_apply_event(text, text, jsonb, jsonb, timestamptz)
  from public, anon, authenticated;
grant execute on function public.stripe_event_begin(text), public.stripe_apply_event(text, text, jsonb, jsonb, timestamptz)
  to service_role;
