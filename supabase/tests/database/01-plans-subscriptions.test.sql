-- Plans are public reference data: anyone reads them, only the service role writes them.
-- A subscription is read by its owner only and written only by the Stripe webhook (service role).
begin;
select plan(28);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.subscriptions (user_id, plan_id, status, stripe_customer_id, stripe_subscription_id)
values ('11111111-1111-4111-8111-111111111111', 'pro', 'active', 'cus_owner', 'sub_owner');

select policies_are('public', 'plans', array['plans_select_anon', 'plans_select_authenticated'],
  'plans has exactly its two read policies');
select policies_are('public', 'subscriptions', array['subscriptions_select_authenticated_own'],
  'subscriptions has exactly the owner read policy');

-- anon ------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select results_eq(
  $$select id, daily_request_limit from public.plans where id in ('free', 'pro') order by id$$,
  $$values ('free'::text, 20), ('pro'::text, 500)$$,
  'anon reads the plans');
select throws_ok(
  $$insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents) values ('hack', 'Hack', 1, 1, 1)$$,
  '42501', 'permission denied for table plans', 'anon cannot add a plan');
select throws_ok($$update public.plans set daily_request_limit = 1000000 where id = 'free'$$,
  '42501', 'permission denied for table plans', 'anon cannot change a plan');
select throws_ok($$delete from public.plans where id = 'free'$$,
  '42501', 'permission denied for table plans', 'anon cannot delete a plan');
select throws_ok($$select * from public.subscriptions$$,
  '42501', 'permission denied for table subscriptions', 'anon cannot read subscriptions');
select throws_ok(
  $$insert into public.subscriptions (user_id, plan_id, status) values ('22222222-2222-4222-8222-222222222222', 'pro', 'active')$$,
  '42501', 'permission denied for table subscriptions', 'anon cannot create a subscription');

-- owner -----------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$select id from public.plans where id in ('free', 'pro') order by id$$,
  array['free', 'pro'],
  'a signed-in user reads the plans');
select throws_ok(
  $$insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents) values ('hack', 'Hack', 1, 1, 1)$$,
  '42501', 'permission denied for table plans', 'a signed-in user cannot add a plan');
select throws_ok($$update public.plans set daily_request_limit = 1000000 where id = 'free'$$,
  '42501', 'permission denied for table plans', 'a signed-in user cannot raise a plan''s limit');
select throws_ok($$delete from public.plans where id = 'free'$$,
  '42501', 'permission denied for table plans', 'a signed-in user cannot delete a plan');

select results_eq(
  $$select user_id, plan_id, status from public.subscriptions$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, 'pro'::text, 'active'::text)$$,
  'the owner reads their own subscription and nothing else');
select throws_ok(
  $$insert into public.subscriptions (user_id, plan_id, status) values ('11111111-1111-4111-8111-111111111111', 'pro', 'active')$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot create a subscription');
select throws_ok(
  $$update public.subscriptions set status = 'active', current_period_end = now() + interval '100 years'$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot extend their own subscription');
select throws_ok($$update public.subscriptions set plan_id = 'pro' where user_id = (select auth.uid())$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot change their plan');
select throws_ok($$delete from public.subscriptions$$,
  '42501', 'permission denied for table subscriptions', 'the owner cannot delete their subscription');

-- stranger --------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';

select is_empty($$select * from public.subscriptions$$,
  'a stranger sees no subscription of another user');
select is_empty($$select * from public.subscriptions where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'a stranger cannot read the owner''s subscription by id');
select throws_ok(
  $$insert into public.subscriptions (user_id, plan_id, status) values ('22222222-2222-4222-8222-222222222222', 'pro', 'active')$$,
  '42501', 'permission denied for table subscriptions', 'a stranger cannot give themselves a subscription');

-- service role (the Stripe webhook) --------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select lives_ok(
  $$insert into public.subscriptions (user_id, plan_id, status, stripe_customer_id) values ('22222222-2222-4222-8222-222222222222', 'pro', 'trialing', 'cus_stranger')$$,
  'the service role creates a subscription');
select lives_ok(
  $$update public.subscriptions set status = 'past_due', updated_at = now() where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'the service role updates a subscription');
select results_eq(
  $$select user_id, status from public.subscriptions order by status$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, 'past_due'::text), ('22222222-2222-4222-8222-222222222222'::uuid, 'trialing'::text)$$,
  'the service role reads every subscription');
select throws_ok(
  $$update public.subscriptions set status = 'bogus' where user_id = '11111111-1111-4111-8111-111111111111'$$,
  '23514', 'new row for relation "subscriptions" violates check constraint "subscriptions_status_check"', 'a subscription status outside Stripe''s set is rejected');
select throws_ok(
  $$insert into public.subscriptions (user_id, plan_id, status) values ('11111111-1111-4111-8111-111111111111', 'free', 'active')$$,
  '23505', 'duplicate key value violates unique constraint "subscriptions_pkey"', 'a user has at most one subscription');
select lives_ok(
  $$insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents, stripe_price_id) values ('team', 'Team', 2000, 104857600, 5000, 'price_team')$$,
  'the service role adds a plan');
select throws_ok(
  $$insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents) values ('Bad Id', 'Bad', 1, 1, 1)$$,
  '23514', 'new row for relation "plans" violates check constraint "plans_id_check"', 'plan ids are lowercase identifiers');

set local role postgres;
delete from auth.users where id = '11111111-1111-4111-8111-111111111111';
select is_empty($$select * from public.subscriptions where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting the user deletes their subscription');

select * from finish();
rollback;
