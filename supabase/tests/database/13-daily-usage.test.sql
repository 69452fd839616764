-- consume_daily_request counts one chat question against the daily limit of the user's plan (an active, trialing or
-- past_due subscription's plan, else free): allowed while today's (UTC) count is under plans.daily_request_limit,
-- refused at the limit without counting, with the count, the limit, the plan's name and the next UTC midnight.
-- Only the service role (the chat function) calls it; users read their own usage and change none of it.
-- (Concurrent calls are tested end to end with the chat function; one transaction can only run them serially.)
begin;
select plan(33);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'asker@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com'),
  ('33333333-3333-4333-8333-333333333333', 'canceled@example.com'),
  ('44444444-4444-4444-8444-444444444444', 'blocked@example.com'),
  ('55555555-5555-4555-8555-555555555555', 'yesterday@example.com');
-- Small limits keep the test short (undone by the rollback), and a plan that allows nothing.
update public.plans set daily_request_limit = 3 where id = 'free';
update public.plans set daily_request_limit = 5 where id = 'pro';
insert into public.plans (id, name, daily_request_limit, max_upload_bytes, max_documents) values ('blocked', 'Blocked', 0, 1, 1);
insert into public.subscriptions (user_id, plan_id, status) values
  ('33333333-3333-4333-8333-333333333333', 'pro', 'canceled'),
  ('44444444-4444-4444-8444-444444444444', 'blocked', 'active');
-- Yesterday (UTC) the user used up their questions.
insert into public.user_daily_usage (user_id, date, daily_requests_count) values
  ('55555555-5555-4555-8555-555555555555', (now() at time zone 'utc')::date - 1, 3);

-- service role (the chat function) --------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select results_eq(
  $$select allowed, used, daily_limit, plan_name, resets_at from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (true, 1, 3, 'Free'::text, (date_trunc('day', now() at time zone 'utc') + interval '1 day') at time zone 'utc')$$,
  'the first question of the day is allowed: 1 used of the Free plan''s 3, resetting at the next UTC midnight');
select results_eq(
  $$select allowed, used from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (true, 2)$$,
  'the second is allowed and counted');
select results_eq(
  $$select allowed, used from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (true, 3)$$,
  'the third, reaching the limit, is allowed');
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (false, 3, 3, 'Free'::text)$$,
  'the fourth is refused, reporting 3 used of 3 on Free');
select results_eq(
  $$select date, daily_requests_count from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111'$$,
  $$values ((now() at time zone 'utc')::date, 3)$$,
  '... and not counted: one row for today (UTC) holding 3');
select results_eq(
  $$select allowed, used from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (false, 3)$$,
  'asking again changes nothing: still refused at 3');

-- the plan changes: the limit follows at once ----------------------------------------------------------------------
insert into public.subscriptions (user_id, plan_id, status) values ('11111111-1111-4111-8111-111111111111', 'pro', 'active');
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (true, 4, 5, 'Pro'::text)$$,
  'an active pro subscription gives the Pro limit at once: the fourth question today is allowed');
select results_eq(
  $$select allowed, used from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (true, 5)$$,
  'the fifth reaches the Pro limit');
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (false, 5, 5, 'Pro'::text)$$,
  'the sixth is refused at the Pro limit');
update public.subscriptions set status = 'canceled' where user_id = '11111111-1111-4111-8111-111111111111';
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  $$values (false, 5, 3, 'Free'::text)$$,
  'once canceled the Free limit applies again: refused, with today''s real count (5) over the limit (3)');
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('33333333-3333-4333-8333-333333333333')$$,
  $$values (true, 1, 3, 'Free'::text)$$,
  'a canceled pro subscription is the Free plan');

-- a limit of 0 ------------------------------------------------------------------------------------------------------
select results_eq(
  $$select allowed, used, daily_limit, plan_name from public.consume_daily_request('44444444-4444-4444-8444-444444444444')$$,
  $$values (false, 0, 0, 'Blocked'::text)$$,
  'a plan with a daily limit of 0 allows no question');
select is_empty($$select * from public.user_daily_usage where user_id = '44444444-4444-4444-8444-444444444444'$$,
  '... and counts none');

-- the UTC day -------------------------------------------------------------------------------------------------------
select results_eq(
  $$select allowed, used, daily_limit from public.consume_daily_request('55555555-5555-4555-8555-555555555555')$$,
  $$values (true, 1, 3)$$,
  'a new UTC day starts at zero: the user who used all 3 questions yesterday asks again today');
-- UTC+14 and UTC−12: at any hour of the UTC day, one of them is on another date than UTC.
set local timezone to 'Pacific/Kiritimati';
select results_eq(
  $$select used, resets_at from public.consume_daily_request('55555555-5555-4555-8555-555555555555')$$,
  $$values (2, (date_trunc('day', now() at time zone 'utc') + interval '1 day') at time zone 'utc')$$,
  'in a session at UTC+14 the question counts on the UTC day, which still resets at UTC midnight');
set local timezone to 'Etc/GMT+12';
select results_eq(
  $$select used, resets_at from public.consume_daily_request('55555555-5555-4555-8555-555555555555')$$,
  $$values (3, (date_trunc('day', now() at time zone 'utc') + interval '1 day') at time zone 'utc')$$,
  '... and at UTC−12 as well');
set local timezone to default;
select results_eq(
  $$select date, daily_requests_count from public.user_daily_usage where user_id = '55555555-5555-4555-8555-555555555555' order by date$$,
  $$values ((now() at time zone 'utc')::date - 1, 3), ((now() at time zone 'utc')::date, 3)$$,
  'yesterday''s count is kept apart and untouched; today''s row holds the three questions asked today');

-- a signed-in user ---------------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select throws_ok($$select * from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  '42501', 'permission denied for function consume_daily_request', 'a signed-in user cannot count their own questions');
select throws_ok($$select * from public.consume_daily_request('22222222-2222-4222-8222-222222222222')$$,
  '42501', 'permission denied for function consume_daily_request', 'a signed-in user cannot spend another user''s questions');
select results_eq(
  $$select user_id, date, daily_requests_count from public.user_daily_usage$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, (now() at time zone 'utc')::date, 5)$$,
  'a user reads their own usage, and only theirs');
select throws_ok(
  $$insert into public.user_daily_usage (user_id, date, daily_requests_count)
    values ('11111111-1111-4111-8111-111111111111', (now() at time zone 'utc')::date + 1, 0)$$,
  '42501', 'permission denied for table user_daily_usage', 'a user cannot insert usage (e.g. tomorrow''s, to get ahead)');
select throws_ok(
  $$insert into public.user_daily_usage as u (user_id, date, daily_requests_count)
    values ('11111111-1111-4111-8111-111111111111', (now() at time zone 'utc')::date, 0)
    on conflict (user_id, date) do update set daily_requests_count = 0$$,
  '42501', 'permission denied for table user_daily_usage', 'a user cannot reset today''s count by upsert');
select throws_ok($$update public.user_daily_usage set daily_requests_count = 0 where user_id = '11111111-1111-4111-8111-111111111111'$$,
  '42501', 'permission denied for table user_daily_usage', 'a user cannot lower their count');
select throws_ok($$delete from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111'$$,
  '42501', 'permission denied for table user_daily_usage', 'a user cannot delete their usage');

set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';
select is_empty($$select * from public.user_daily_usage$$,
  'a stranger, who asked nothing, sees no usage at all');
select is_empty($$select * from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'a stranger cannot read another user''s usage by id');
select throws_ok($$update public.user_daily_usage set daily_requests_count = 999 where user_id = '11111111-1111-4111-8111-111111111111'$$,
  '42501', 'permission denied for table user_daily_usage', 'a stranger cannot inflate another user''s count');

-- anon --------------------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.consume_daily_request('11111111-1111-4111-8111-111111111111')$$,
  '42501', 'permission denied for function consume_daily_request', 'anon cannot count questions');
select throws_ok($$select * from public.user_daily_usage$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot read usage');
select throws_ok(
  $$insert into public.user_daily_usage (user_id, date, daily_requests_count) values ('11111111-1111-4111-8111-111111111111', (now() at time zone 'utc')::date + 1, 0)$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot insert usage');
select throws_ok($$update public.user_daily_usage set daily_requests_count = 0$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot change usage');
select throws_ok($$delete from public.user_daily_usage$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot delete usage');

set local role postgres;
select results_eq(
  $$select user_id, date, daily_requests_count from public.user_daily_usage order by user_id, date$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, (now() at time zone 'utc')::date, 5),
           ('33333333-3333-4333-8333-333333333333', (now() at time zone 'utc')::date, 1),
           ('55555555-5555-4555-8555-555555555555', (now() at time zone 'utc')::date - 1, 3),
           ('55555555-5555-4555-8555-555555555555', (now() at time zone 'utc')::date, 3)$$,
  'in the end the stored counts are exactly the questions allowed, untouched by the denied attempts');

select * from finish();
rollback;
