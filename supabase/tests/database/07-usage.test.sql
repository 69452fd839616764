-- Daily usage is counted by the server (service role) and read by its owner; users can neither see other
-- users' counts nor change their own.
begin;
select plan(20);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.user_daily_usage (user_id, date, daily_requests_count) values
  ('11111111-1111-4111-8111-111111111111', '2020-01-01', 7),
  ('11111111-1111-4111-8111-111111111111', '2020-01-02', 3),
  ('22222222-2222-4222-8222-222222222222', '2020-01-01', 9);

select policies_are('public', 'user_daily_usage', array['user_daily_usage_select_authenticated_own'],
  'user_daily_usage has only the owner read policy');

-- owner -----------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$select date, daily_requests_count from public.user_daily_usage order by date$$,
  $$values ('2020-01-01'::date, 7), ('2020-01-02'::date, 3)$$,
  'the owner reads exactly their own usage');
select throws_ok($$update public.user_daily_usage set daily_requests_count = 0$$,
  '42501', 'permission denied for table user_daily_usage', 'the owner cannot reset their count');
select throws_ok(
  $$insert into public.user_daily_usage (user_id, date, daily_requests_count) values ('11111111-1111-4111-8111-111111111111', '2020-01-03', 0)$$,
  '42501', 'permission denied for table user_daily_usage', 'the owner cannot insert usage rows');
select throws_ok($$delete from public.user_daily_usage$$,
  '42501', 'permission denied for table user_daily_usage', 'the owner cannot delete their usage');

-- stranger --------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';

select results_eq($$select daily_requests_count from public.user_daily_usage$$, array[9],
  'a stranger reads only their own usage');
select is_empty($$select * from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'a stranger cannot read the owner''s usage');
select throws_ok(
  $$update public.user_daily_usage set daily_requests_count = 999 where user_id = '11111111-1111-4111-8111-111111111111'$$,
  '42501', 'permission denied for table user_daily_usage', 'a stranger cannot inflate the owner''s usage');

-- anon ------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.user_daily_usage$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot read usage');
select throws_ok(
  $$insert into public.user_daily_usage (user_id) values ('11111111-1111-4111-8111-111111111111')$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot write usage');
select throws_ok($$update public.user_daily_usage set daily_requests_count = 0$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot change usage');
select throws_ok($$delete from public.user_daily_usage$$,
  '42501', 'permission denied for table user_daily_usage', 'anon cannot delete usage');

-- service role (the chat function counting requests) ------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select results_eq(
  $$insert into public.user_daily_usage as u (user_id, daily_requests_count) values ('11111111-1111-4111-8111-111111111111', 1)
    on conflict (user_id, date) do update set daily_requests_count = u.daily_requests_count + 1
    returning date, daily_requests_count$$,
  $$values ((now() at time zone 'utc')::date, 1)$$,
  'the first request of the day creates today''s (UTC) row with a count of 1');
select results_eq(
  $$insert into public.user_daily_usage as u (user_id, daily_requests_count) values ('11111111-1111-4111-8111-111111111111', 1)
    on conflict (user_id, date) do update set daily_requests_count = u.daily_requests_count + 1
    returning daily_requests_count$$,
  array[2],
  'the next request of the day increments the same row');
select is((select count(*)::int from public.user_daily_usage), 4, 'the service role reads every user''s usage');
select throws_ok(
  $$update public.user_daily_usage set daily_requests_count = -1 where user_id = '22222222-2222-4222-8222-222222222222'$$,
  '23514', 'new row for relation "user_daily_usage" violates check constraint "user_daily_usage_daily_requests_count_check"',
  'a count cannot go negative');
select throws_ok(
  $$insert into public.user_daily_usage (user_id) values ('33333333-3333-4333-8333-333333333333')$$,
  '23503', 'insert or update on table "user_daily_usage" violates foreign key constraint "user_daily_usage_user_id_fkey"',
  'usage is only counted for existing users');

set local role postgres;
select results_eq(
  $$select date, daily_requests_count from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111' and date < '2021-01-01' order by date$$,
  $$values ('2020-01-01'::date, 7), ('2020-01-02'::date, 3)$$,
  'the owner''s past counts are unchanged by the denied attempts');
select results_eq(
  $$select daily_requests_count from public.user_daily_usage where user_id = '22222222-2222-4222-8222-222222222222'$$,
  array[9],
  'the stranger''s count is unchanged');
delete from auth.users where id = '11111111-1111-4111-8111-111111111111';
select is_empty($$select * from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting a user deletes their usage');

select * from finish();
rollback;
