-- Requests per user per UTC day, counted by the server to enforce the plan's daily limit.

create table public.user_daily_usage (
  user_id uuid not null references auth.users (id) on delete cascade,
  date date not null default (now() at time zone 'utc')::date,
  daily_requests_count integer not null default 0 check (daily_requests_count >= 0),
  primary key (user_id, date)
);
comment on table public.user_daily_usage is 'How many chat requests a user made on a UTC day.';
comment on column public.user_daily_usage.daily_requests_count is 'Counted by the server; users cannot change it.';

alter table public.user_daily_usage enable row level security;
revoke all on public.user_daily_usage from anon, authenticated, service_role;
grant select on public.user_daily_usage to authenticated;
grant all on public.user_daily_usage to service_role;

-- Users read their own usage; only the server counts.
create policy user_daily_usage_select_authenticated_own on public.user_daily_usage for select to authenticated
  using (user_id = (select auth.uid()));
