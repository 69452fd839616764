-- Each chat question counts against the plan's daily limit. Checking and counting are one statement — an upsert
-- whose update only happens while the count is under the limit — so 50 parallel requests at the limit let
-- exactly the allowed number through. Users read their usage; only the chat function (service role) counts.

create function public.consume_daily_request(user_id uuid)
returns table (allowed boolean, used integer, daily_limit integer, plan_name text, resets_at timestamptz)
language plpgsql
security invoker
set search_path = ''
as $$
declare
  plan public.plans := private.plan_for(consume_daily_request.user_id);
  today date := (pg_catalog.now() at time zone 'utc')::date;
  counted integer;
begin
  if plan.daily_request_limit > 0 then
    insert into public.user_daily_usage as u (user_id, date, daily_requests_count)
    values (consume_daily_request.user_id, today, 1)
    on conflict on constraint user_daily_usage_pkey do update
      set daily_requests_count = u.daily_requests_count + 1
      where u.daily_requests_count < plan.daily_request_limit
    returning u.daily_requests_count into counted;
  end if;
  allowed := counted is not null;
  select coalesce(u.daily_requests_count, 0) into used
    from public.user_daily_usage u where u.user_id = consume_daily_request.user_id and u.date = today;
  used := coalesce(used, 0);
  daily_limit := plan.daily_request_limit;
  plan_name := plan.name;
  resets_at := (today + 1)::timestamp at time zone 'utc';
  return next;
end
$$;
comment on function public.consume_daily_request(uuid) is 'Chat function only: count one question if the plan''s daily limit allows it.';
revoke execute on function public.consume_daily_request(uuid) from public, anon, authenticated;
grant execute on function public.consume_daily_request(uuid) to service_role;
