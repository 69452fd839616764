-- pg_cron's SQL surface for the lite stack, written from pg_cron's documented contract (README, 1.6): the same
-- tables, columns, functions, errors and privileges, so migrations written for Supabase run unchanged. The C
-- functions of the real extension are plpgsql here, and the stack's scheduler (stack/scheduler/cron.ts) plays
-- the background worker: it reads cron.job, runs due commands as the job's username and writes
-- cron.job_run_details. Schedules are parsed once, here, by cron._lite_parse_schedule; the scheduler asks it.

create schema cron;

create sequence cron.jobid_seq;
grant select on sequence cron.jobid_seq to public;

create table cron.job (
  jobid bigint primary key default pg_catalog.nextval('cron.jobid_seq'),
  schedule text not null,
  command text not null,
  nodename text not null default 'localhost',
  -- PGlite serves no socket of its own, so inet_server_port() is null there.
  nodeport int not null default coalesce(pg_catalog.inet_server_port(), 5432),
  database text not null default pg_catalog.current_database(),
  username text not null default current_user,
  active boolean not null default true,
  jobname text,
  constraint jobname_username_uniq unique (jobname, username)
);
grant select on cron.job to public;
alter table cron.job enable row level security;
create policy cron_job_policy on cron.job using (username operator(pg_catalog.=) current_user);

create sequence cron.runid_seq;
grant select on sequence cron.runid_seq to public;

create table cron.job_run_details (
  jobid bigint,
  runid bigint primary key default pg_catalog.nextval('cron.runid_seq'),
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamptz,
  end_time timestamptz
);
grant select, delete on cron.job_run_details to public;
alter table cron.job_run_details enable row level security;
create policy cron_job_run_details_policy on cron.job_run_details using (username operator(pg_catalog.=) current_user);

select pg_catalog.pg_extension_config_dump('cron.job', '');
select pg_catalog.pg_extension_config_dump('cron.jobid_seq', '');
select pg_catalog.pg_extension_config_dump('cron.job_run_details', '');
select pg_catalog.pg_extension_config_dump('cron.runid_seq', '');

-- One field of a 5-field schedule (Vixie cron, as pg_cron parses it): a comma list of `*`, `n` or `a-b`, each
-- with an optional `/step` (not after a single number). Numbers may be names (`jan`, `mon`; any case). Returns the
-- matching values, or null when the field is invalid. A reversed range is valid and matches nothing, as upstream.
create function cron._lite_parse_field(field text, low int, high int, names text[]) returns int[]
language plpgsql immutable strict
set search_path = ''
as $$
declare
  element text;
  parts text[];
  first_value int;
  last_value int;
  step int;
  result int[] := '{}';
begin
  foreach element in array pg_catalog.string_to_array(field, ',') loop
    parts := pg_catalog.regexp_match(element, '^(?:(\*)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?$');
    if parts is null then
      return null;
    end if;
    if parts[1] is not null then
      first_value := low;
      last_value := high;
    else
      first_value := cron._lite_field_number(parts[2], low, names);
      last_value := case when parts[3] is null then first_value else cron._lite_field_number(parts[3], low, names) end;
      if parts[3] is null and parts[4] is not null then
        return null;
      end if;
    end if;
    step := case when parts[4] is null then 1
                 when pg_catalog.length(parts[4]) > 9 then 0
                 else parts[4]::int end;
    if first_value is null or last_value is null
       or first_value < low or first_value > high or last_value < low or last_value > high
       or step < 1 or step > high then
      return null;
    end if;
    result := result operator(pg_catalog.||) array(select pg_catalog.generate_series(first_value, last_value, step));
  end loop;
  return result;
end
$$;

-- A number in a schedule field: digits, or a name from `names` (the first name has the value `low`).
create function cron._lite_field_number(token text, low int, names text[]) returns int
language sql immutable strict
set search_path = ''
as $$
  select coalesce(
    (select (n.ord - 1)::int operator(pg_catalog.+) low
       from pg_catalog.unnest(names) with ordinality as n(name, ord)
      where n.name operator(pg_catalog.=) pg_catalog.lower(token)
      order by n.ord
      limit 1),
    case when token operator(pg_catalog.~) '^[0-9]{1,9}$' then token::int end)
$$;

-- The distinct values of an array as a sorted JSON array ([] when there are none).
create function cron._lite_json_set(v int[]) returns jsonb
language sql immutable strict
set search_path = ''
as $$
  select coalesce((select pg_catalog.jsonb_agg(distinct x order by x) from pg_catalog.unnest(v) x), '[]'::jsonb)
$$;

-- Parses a schedule the way pg_cron accepts it, into what the scheduler needs to match it against a minute:
-- {"seconds": n} for '[1-59] seconds', {"reboot": true} for @reboot, otherwise the values of the five fields and
-- the flags that decide how day-of-month and day-of-week combine ({"minute": [...], ..., "dom_star": true, ...}).
-- Returns null for an invalid schedule. As in pg_cron, anything after the fifth field is ignored.
create function cron._lite_parse_schedule(schedule text) returns jsonb
language plpgsql immutable strict
set search_path = ''
as $$
declare
  text_form text := pg_catalog.ltrim(schedule, E' \t');
  fields text[];
  special text;
  seconds text[];
  minutes int[];
  hours int[];
  days int[];
  months int[];
  weekdays int[];
begin
  if pg_catalog.left(text_form, 1) operator(pg_catalog.=) '@' then
    special := (pg_catalog.regexp_match(text_form, E'^@([^ \t\n]*)'))[1];
    if special in ('reboot', 'restart') then
      return '{"reboot": true}'::jsonb;
    end if;
    text_form := case special
      when 'yearly' then '0 0 1 1 *' when 'annually' then '0 0 1 1 *'
      when 'monthly' then '0 0 1 * *'
      when 'weekly' then '0 0 * * 0'
      when 'daily' then '0 0 * * *' when 'midnight' then '0 0 * * *'
      when 'hourly' then '0 * * * *'
    end;
    if text_form is null then
      return null;
    end if;
  end if;

  fields := pg_catalog.regexp_split_to_array(pg_catalog.btrim(text_form, E' \t'), E'[ \t]+');
  if pg_catalog.array_length(fields, 1) >= 5 then
    minutes := cron._lite_parse_field(fields[1], 0, 59, '{}');
    hours := cron._lite_parse_field(fields[2], 0, 23, '{}');
    days := case when fields[3] operator(pg_catalog.=) '$' then '{}'::int[] else cron._lite_parse_field(fields[3], 1, 31, '{}') end;
    months := cron._lite_parse_field(fields[4], 1, 12, '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}');
    weekdays := cron._lite_parse_field(fields[5], 0, 7, '{sun,mon,tue,wed,thu,fri,sat,sun}');
    if minutes is not null and hours is not null and days is not null and months is not null and weekdays is not null then
      -- Sunday is both 0 and 7.
      if 0 operator(pg_catalog.=) any (weekdays) or 7 operator(pg_catalog.=) any (weekdays) then
        weekdays := weekdays operator(pg_catalog.||) '{0,7}'::int[];
      end if;
      return pg_catalog.jsonb_build_object(
        'minute', cron._lite_json_set(minutes),
        'hour', cron._lite_json_set(hours),
        'dom', cron._lite_json_set(days),
        'month', cron._lite_json_set(months),
        'dow', cron._lite_json_set(weekdays),
        'dom_star', pg_catalog.left(fields[3], 1) operator(pg_catalog.=) '*',
        'dow_star', pg_catalog.left(fields[5], 1) operator(pg_catalog.=) '*',
        'dom_last', fields[3] operator(pg_catalog.=) '$');
    end if;
  end if;

  seconds := pg_catalog.regexp_match(schedule, E'^[ \t\n]*([0-9]{1,9})[ \t\n]*seconds?[ \t\n]*$', 'i');
  if seconds is not null and seconds[1]::int between 1 and 59 then
    return pg_catalog.jsonb_build_object('seconds', seconds[1]::int);
  end if;
  return null;
end
$$;

-- Raises pg_cron's error for a schedule it would not accept.
create function cron._lite_require_schedule(schedule text) returns void
language plpgsql immutable
set search_path = ''
as $$
begin
  if schedule is null or cron._lite_parse_schedule(schedule) is null then
    raise exception using
      errcode = 'invalid_parameter_value',
      message = pg_catalog.format('invalid schedule: %s', schedule),
      hint = 'Use cron format (e.g. 5 4 * * *), or interval format ''[1-59] seconds''';
  end if;
end
$$;

-- Jobs may only run as roles that can log in (pg_cron opens a connection as them).
create function cron._lite_require_login_role(role_name text) returns void
language plpgsql stable
set search_path = ''
as $$
declare
  can_login boolean := (select r.rolcanlogin from pg_catalog.pg_roles r where r.rolname operator(pg_catalog.=) role_name);
begin
  if can_login is null then
    raise exception 'role "%" does not exist', role_name;
  elsif not can_login then
    raise exception 'role "%" can not log in', role_name
      using detail = 'Jobs may only be run by roles that have the LOGIN attribute.';
  end if;
end
$$;

-- The job's role must be allowed to connect to the job's database.
create function cron._lite_require_database(database_name text, role_name text) returns void
language plpgsql stable
set search_path = ''
as $$
begin
  if not exists (select 1 from pg_catalog.pg_database d where d.datname operator(pg_catalog.=) database_name) then
    raise exception using errcode = 'undefined_object', message = pg_catalog.format('database "%s" does not exist', database_name);
  end if;
  if not pg_catalog.has_database_privilege(role_name, database_name, 'CONNECT') then
    raise exception 'User % does not have CONNECT privilege on %', role_name, database_name;
  end if;
end
$$;

create function cron._lite_is_superuser() returns boolean
language sql stable
set search_path = ''
as $$
  select coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname operator(pg_catalog.=) current_user), false)
$$;

-- Inserts a job, or (with a name) replaces the schedule, command and database of the caller's job of that name.
create function cron._lite_schedule(
  job_name text, job_schedule text, job_command text, database_name text, role_name text, job_active boolean
) returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  job_role text := coalesce(role_name, current_user);
  job_database text := coalesce(database_name, pg_catalog.current_database());
  new_jobid bigint;
begin
  perform cron._lite_require_schedule(job_schedule);
  if role_name is not null then
    if not cron._lite_is_superuser() then
      raise exception 'must be superuser to create a job for another role';
    end if;
    perform cron._lite_require_login_role(role_name);
  end if;
  perform cron._lite_require_database(job_database, job_role);
  insert into cron.job as j (schedule, command, database, username, active, jobname)
  values (job_schedule, job_command, job_database, job_role, coalesce(job_active, true), job_name)
  on conflict on constraint jobname_username_uniq do update
    set schedule = excluded.schedule, command = excluded.command, database = excluded.database
  returning j.jobid into new_jobid;
  return new_jobid;
end
$$;

create function cron.schedule(schedule text, command text) returns bigint
language sql volatile strict
set search_path = ''
as $$
  select cron._lite_schedule(null, $1, $2, null, null, true)
$$;
comment on function cron.schedule(text, text) is 'schedule a pg_cron job';

create function cron.schedule(job_name text, schedule text, command text) returns bigint
language plpgsql volatile
set search_path = ''
as $$
begin
  if $1 is null then raise exception 'job_name can not be NULL'; end if;
  if $2 is null then raise exception 'schedule can not be NULL'; end if;
  if $3 is null then raise exception 'command can not be NULL'; end if;
  return cron._lite_schedule($1, $2, $3, null, null, true);
end
$$;
comment on function cron.schedule(text, text, text) is 'schedule a pg_cron job';

create function cron.schedule_in_database(
  job_name text, schedule text, command text, database text, username text default null, active boolean default true
) returns bigint
language plpgsql volatile
set search_path = ''
as $$
begin
  if $1 is null then raise exception 'job_name can not be NULL'; end if;
  if $2 is null then raise exception 'schedule can not be NULL'; end if;
  if $3 is null then raise exception 'command can not be NULL'; end if;
  if $4 is null then raise exception 'database can not be NULL'; end if;
  return cron._lite_schedule($1, $2, $3, $4, $5, $6);
end
$$;
comment on function cron.schedule_in_database(text, text, text, text, text, boolean) is 'schedule a pg_cron job';

create function cron.unschedule(job_id bigint) returns boolean
language plpgsql volatile strict
set search_path = ''
as $$
declare
  owner_name text := (select j.username from cron.job j where j.jobid operator(pg_catalog.=) $1);
begin
  if owner_name is null then
    raise exception 'could not find valid entry for job %', $1;
  end if;
  if owner_name operator(pg_catalog.<>) current_user
     and not pg_catalog.has_table_privilege('cron.job', 'DELETE') then
    raise exception using errcode = 'insufficient_privilege', message = 'permission denied for table job';
  end if;
  delete from cron.job j where j.jobid operator(pg_catalog.=) $1;
  return true;
end
$$;
comment on function cron.unschedule(bigint) is 'unschedule a pg_cron job';

create function cron.unschedule(job_name text) returns boolean
language plpgsql volatile strict
set search_path = ''
as $$
begin
  delete from cron.job j
   where j.jobname operator(pg_catalog.=) $1 and j.username operator(pg_catalog.=) current_user;
  if not found then
    raise exception 'could not find valid entry for job ''%''', $1;
  end if;
  return true;
end
$$;
comment on function cron.unschedule(text) is 'unschedule a pg_cron job';

create function cron.alter_job(
  job_id bigint,
  schedule text default null,
  command text default null,
  database text default null,
  username text default null,
  active boolean default null
) returns void
language plpgsql volatile
set search_path = ''
as $$
declare
  is_superuser boolean := cron._lite_is_superuser();
begin
  if $1 is null then
    raise exception 'job_id can not be NULL';
  end if;
  if $2 is null and $3 is null and $4 is null and $5 is null and $6 is null then
    raise exception 'no updates specified'
      using hint = 'You must specify at least one job attribute to change when calling alter_job';
  end if;
  if $5 is not null then
    if not is_superuser then
      raise exception 'must be superuser to alter username';
    end if;
    perform cron._lite_require_login_role($5);
  end if;
  if $4 is not null then
    perform cron._lite_require_database($4, coalesce($5, current_user));
  end if;
  if $2 is not null then
    perform cron._lite_require_schedule($2);
  end if;
  update cron.job j
     set schedule = coalesce($2, j.schedule),
         command = coalesce($3, j.command),
         database = coalesce($4, j.database),
         username = coalesce($5, j.username),
         active = coalesce($6, j.active)
   where j.jobid operator(pg_catalog.=) $1
     and (is_superuser or j.username operator(pg_catalog.=) current_user);
  if not found then
    raise exception 'Job % does not exist or you don''t own it', $1;
  end if;
end
$$;
comment on function cron.alter_job(bigint, text, text, text, text, boolean) is
  'Alter the job identified by job_id. Any option left as NULL will not be modified.';

-- As upstream: whether altering jobs or scheduling them elsewhere is safe is the administrator's call.
revoke all on function cron.alter_job(bigint, text, text, text, text, boolean) from public;
revoke all on function cron.schedule_in_database(text, text, text, text, text, boolean) from public;

-- What Supabase grants after creating pg_cron; the schema is not granted to anon, authenticated or service_role.
grant usage on schema cron to postgres with grant option;
