-- Billing: a user reads their own Stripe customer row and subscription, and can never write either — nor call the
-- webhook's RPCs, nor see the event log. The service role (the billing and stripe-webhook functions) records a
-- customer and applies Stripe events once per event id, never over a newer read.
begin;
select plan(36);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.stripe_customers (user_id, stripe_customer_id) values ('11111111-1111-4111-8111-111111111111', 'cus_owner');
update public.plans set stripe_price_id = 'price_pro' where id = 'pro';
insert into public.subscriptions (user_id, plan_id, status, stripe_customer_id, stripe_subscription_id, stripe_synced_at)
values ('11111111-1111-4111-8111-111111111111', 'pro', 'active', 'cus_owner', 'sub_owner', '2026-12-01T10:00:00Z');

select policies_are('public', 'stripe_customers', array['stripe_customers_select_authenticated_own'],
  'stripe_customers has exactly the owner read policy');
select results_eq($$select price_amount, price_currency, price_interval from public.plans where id = 'pro'$$,
  $$values (1900, 'usd'::text, 'month'::text)$$, 'pro costs 19.00 USD a month (what stripe:sync creates)');

-- anon ------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.stripe_customers$$,
  '42501', 'permission denied for table stripe_customers', 'anon cannot read customer rows');
select throws_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'cus_anon')$$,
  '42501', 'permission denied for table stripe_customers', 'anon cannot record a customer');
select throws_ok($$select public.stripe_apply_event('evt_anon', 'customer.subscription.updated', '{}', null, now())$$,
  '42501', 'permission denied for function stripe_apply_event', 'anon cannot apply a Stripe event');
select throws_ok($$select public.stripe_event_begin('evt_anon')$$,
  '42501', 'permission denied for function stripe_event_begin', 'anon cannot probe the event log');

-- owner -----------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq($$select user_id, stripe_customer_id from public.stripe_customers$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, 'cus_owner'::text)$$,
  'the owner reads their own customer row and nothing else');
select throws_ok($$update public.stripe_customers set stripe_customer_id = 'cus_someone_else'$$,
  '42501', 'permission denied for table stripe_customers', 'the owner cannot point their account at another customer');
select throws_ok($$delete from public.stripe_customers$$,
  '42501', 'permission denied for table stripe_customers', 'the owner cannot drop their customer row');
select throws_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('11111111-1111-4111-8111-111111111111', 'cus_other')$$,
  '42501', 'permission denied for table stripe_customers', 'the owner cannot record a customer');
select throws_ok($$update public.subscriptions set plan_id = 'pro', status = 'active', stripe_synced_at = now() + interval '1 year'$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot write their subscription');
select throws_ok($$update public.subscriptions set stripe_customer_id = 'cus_other'$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot change the customer of their subscription');
select throws_ok(
  $$select public.stripe_apply_event('evt_owner', 'customer.subscription.updated', '{}',
      '{"id": "sub_owner", "customer": "cus_owner", "status": "active", "price_id": "price_pro", "current_period_end": 4102444800, "cancel_at_period_end": false}',
      now() + interval '1 year')$$,
  '42501', 'permission denied for function stripe_apply_event', 'the owner cannot apply a made-up event to themselves');
select throws_ok($$select * from private.stripe_events$$,
  '42501', 'permission denied for schema private', 'the owner cannot read the Stripe event log');

-- stranger --------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';

select is_empty($$select * from public.stripe_customers$$, 'a stranger sees no customer row of another user');
select throws_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'cus_owner')$$,
  '42501', 'permission denied for table stripe_customers', 'a stranger cannot claim the owner''s customer');
select throws_ok(
  $$insert into public.subscriptions (user_id, plan_id, status, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'pro', 'active', 'cus_owner')$$,
  '42501', 'permission denied for table subscriptions', 'a stranger cannot give themselves the owner''s subscription');
select is_empty($$select * from public.subscriptions$$, 'a stranger sees no subscription');

-- service role (the billing and stripe-webhook functions) -------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select lives_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'cus_stranger')$$,
  'the service role records a customer');
select throws_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'cus_second')$$,
  '23505', 'duplicate key value violates unique constraint "stripe_customers_pkey"', 'a user has one customer');
select throws_ok($$insert into public.stripe_customers (user_id, stripe_customer_id) values ('11111111-1111-4111-8111-111111111111', 'not a customer')$$,
  '23514', 'new row for relation "stripe_customers" violates check constraint "stripe_customers_stripe_customer_id_check"',
  'a customer id must look like cus_…');

select is(public.stripe_event_begin('evt_1'), now(), 'an unseen event begins: the stamp is the database''s time');
select is(
  public.stripe_apply_event('evt_1', 'customer.subscription.updated', '{"id": "evt_1"}',
    '{"id": "sub_owner", "customer": "cus_owner", "status": "past_due", "price_id": "price_pro", "current_period_end": 1796000000, "cancel_at_period_end": true}',
    '2026-12-01T11:00:00Z'),
  'applied', 'a newer read of the subscription is applied');
select results_eq(
  $$select plan_id, status, current_period_end, cancel_at_period_end, stripe_synced_at from public.subscriptions
     where user_id = '11111111-1111-4111-8111-111111111111'$$,
  $$values ('pro'::text, 'past_due'::text, to_timestamp(1796000000), true, '2026-12-01T11:00:00Z'::timestamptz)$$,
  'the row holds the applied state');
select is(public.stripe_event_begin('evt_1'), null, 'an applied event does not begin again (null)');
select is(
  public.stripe_apply_event('evt_1', 'customer.subscription.updated', '{}',
    '{"id": "sub_owner", "customer": "cus_owner", "status": "canceled", "price_id": "price_pro", "current_period_end": 1796000000, "cancel_at_period_end": true}',
    '2026-12-01T12:00:00Z'),
  'duplicate', 'the same event id again is a duplicate, whatever it carries');
select is(
  public.stripe_apply_event('evt_2', 'customer.subscription.updated', '{}',
    '{"id": "sub_owner", "customer": "cus_owner", "status": "active", "price_id": "price_pro", "current_period_end": 1793000000, "cancel_at_period_end": false}',
    '2026-12-01T10:30:00Z'),
  'stale', 'an older read never overwrites a newer one');
select results_eq($$select status from public.subscriptions where user_id = '11111111-1111-4111-8111-111111111111'$$,
  array['past_due'], 'the stale event changed nothing');
select is(
  public.stripe_apply_event('evt_3', 'customer.subscription.created', '{}',
    '{"id": "sub_x", "customer": "cus_unknown", "status": "active", "price_id": "price_pro", "current_period_end": 1796000000, "cancel_at_period_end": false}',
    '2026-12-01T13:00:00Z'),
  'unknown_customer', 'a customer billing never created is not applied');
select is(
  public.stripe_apply_event('evt_4', 'customer.subscription.created', '{}',
    '{"id": "sub_stranger", "customer": "cus_stranger", "status": "active", "price_id": "price_unknown", "current_period_end": 1796000000, "cancel_at_period_end": false}',
    '2026-12-01T13:00:00Z'),
  'unknown_price', 'a price no plan has is not applied');
select is(public.stripe_apply_event('evt_5', 'checkout.session.completed', '{}', null, now()), 'no_subscription',
  'an event without a subscription is recorded only');
select is(
  public.stripe_apply_event('evt_6', 'customer.subscription.created', '{}',
    '{"id": "sub_stranger", "customer": "cus_stranger", "status": "trialing", "price_id": "price_pro", "current_period_end": 1796000000, "cancel_at_period_end": false}',
    '2026-12-01T13:00:00Z'),
  'applied', 'a first subscription creates the row');
select results_eq($$select plan_id, status, stripe_subscription_id from public.subscriptions where user_id = '22222222-2222-4222-8222-222222222222'$$,
  $$values ('pro'::text, 'trialing'::text, 'sub_stranger'::text)$$, 'the stranger is now on pro (trialing)');
select throws_ok($$select public.stripe_apply_event('not_an_event', 'x', '{}', null, now())$$,
  '22023', 'stripe_apply_event: event_id must be a Stripe event id', 'a malformed event id is refused');

set local role postgres;
select results_eq($$select id, error from private.stripe_events where id in ('evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5', 'evt_6') order by id$$,
  $$values ('evt_1'::text, null::text), ('evt_2', null), ('evt_3', 'unknown_customer'), ('evt_4', 'unknown_price'), ('evt_5', null), ('evt_6', null)$$,
  'every event is logged once, with why it was not applied');
delete from auth.users where id = '11111111-1111-4111-8111-111111111111';
select is_empty($$select * from public.stripe_customers where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting the user deletes their customer row');

select * from finish();
rollback;
