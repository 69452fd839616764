-- The background job queue (Postgres, no Redis): jobs are claimed with `for update skip locked`, retried with
-- exponential backoff, and end as succeeded or dead. A worker that dies loses nothing: its lock expires and the
-- job is claimed again. Internal: lives in `private`, reachable by the service role only.

create table private.jobs (
  id bigint generated always as identity primary key,
  kind text not null check (kind ~ '^[a-z][a-z0-9_]*$'),
  document_id uuid references public.documents (id) on delete cascade,
  payload jsonb not null default '{}'::jsonb,
  status text not null default 'queued' check (status in ('queued', 'running', 'succeeded', 'dead')),
  attempts integer not null default 0 check (attempts >= 0),
  max_attempts integer not null default 5 check (max_attempts > 0),
  run_after timestamptz not null default now(),
  locked_until timestamptz,
  locked_by text,
  last_error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  finished_at timestamptz
);
create index jobs_claimable_idx on private.jobs (kind, run_after, id) where status in ('queued', 'running');
create index jobs_document_id_idx on private.jobs (document_id);
comment on table private.jobs is 'Background work: queued → running → succeeded | (retry: queued) | dead.';

alter table private.jobs enable row level security;
revoke all on private.jobs from public, anon, authenticated;
grant all on private.jobs to service_role;

-- Claims up to `batch` due jobs of `kind` for `worker`, locking them for `lock_seconds`. Jobs whose worker died
-- (lock expired) are claimed again; those that have used up their attempts are marked dead instead.
create function private.claim_jobs(kind text, worker text, batch integer default 1, lock_seconds integer default 300)
returns setof private.jobs
language plpgsql
security invoker
set search_path = ''
as $$
begin
  if batch < 1 or batch > 100 then
    raise exception 'claim_jobs: batch must be between 1 and 100' using errcode = '22023';
  end if;
  if lock_seconds < 1 then
    raise exception 'claim_jobs: lock_seconds must be positive' using errcode = '22023';
  end if;

  with exhausted as (
    update private.jobs j
       set status = 'dead', finished_at = now(), updated_at = now(), locked_until = null,
           last_error = coalesce(j.last_error, 'worker stopped responding')
     where j.kind = claim_jobs.kind and j.status = 'running' and j.locked_until < now()
       and j.attempts >= j.max_attempts
    returning j.document_id, j.last_error
  )
  update public.documents d
     set status = 'failed', error = e.last_error, updated_at = now()
    from exhausted e
   where d.id = e.document_id;

  return query
  with due as (
    select j.id
      from private.jobs j
     where j.kind = claim_jobs.kind
       and ((j.status = 'queued' and j.run_after <= now())
         or (j.status = 'running' and j.locked_until < now() and j.attempts < j.max_attempts))
     order by j.run_after, j.id
     limit batch
     for update skip locked
  )
  update private.jobs j
     set status = 'running', attempts = j.attempts + 1, locked_by = worker,
         locked_until = now() + make_interval(secs => lock_seconds), updated_at = now()
    from due
   where j.id = due.id
  returning j.*;
end
$$;
comment on function private.claim_jobs(text, text, integer, integer) is 'Claim due jobs for a worker (skip locked).';

-- Marks a job the worker holds as done. Returns false if the worker no longer holds it (lock expired and
-- another worker claimed it), so the caller knows its result was not recorded.
create function private.complete_job(job_id bigint, worker text)
returns boolean
language plpgsql
security invoker
set search_path = ''
as $$
begin
  update private.jobs
     set status = 'succeeded', finished_at = now(), updated_at = now(), locked_until = null, last_error = null
   where id = job_id and status = 'running' and locked_by = worker;
  return found;
end
$$;
comment on function private.complete_job(bigint, text) is 'Mark a held job succeeded.';

-- Records a failure of a job the worker holds: back to the queue after 2^attempts × 10 s (at most an hour),
-- or dead once max_attempts is used up, which also marks its document failed. Returns the new status, or
-- null if the worker no longer holds the job.
create function private.fail_job(job_id bigint, worker text, error text)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  job private.jobs;
begin
  update private.jobs j
     set status = case when j.attempts >= j.max_attempts then 'dead' else 'queued' end,
         run_after = case when j.attempts >= j.max_attempts then j.run_after
                          else now() + least(power(2, j.attempts) * interval '10 seconds', interval '1 hour') end,
         finished_at = case when j.attempts >= j.max_attempts then now() end,
         last_error = left(error, 2000), locked_until = null, locked_by = null, updated_at = now()
   where j.id = job_id and j.status = 'running' and j.locked_by = worker
  returning j.* into job;
  if not found then
    return null;
  end if;
  if job.status = 'dead' and job.document_id is not null then
    update public.documents
       set status = 'failed', error = job.last_error, updated_at = now()
     where id = job.document_id;
  end if;
  return job.status;
end
$$;
comment on function private.fail_job(bigint, text, text) is 'Record a failure: retry with backoff or dead.';

revoke execute on function private.claim_jobs(text, text, integer, integer), private.complete_job(bigint, text),
  private.fail_job(bigint, text, text) from public, anon, authenticated;
grant execute on function private.claim_jobs(text, text, integer, integer), private.complete_job(bigint, text),
  private.fail_job(bigint, text, text) to service_role;

create table private.stripe_events (
  id text primary key check (id ~ '^evt_'),
  type text not null,
  payload jsonb not null,
  received_at timestamptz not null default now(),
  processed_at timestamptz,
  error text
);
comment on table private.stripe_events is 'Stripe webhook events by event id, so each is applied once.';

alter table private.stripe_events enable row level security;
revoke all on private.stripe_events from public, anon, authenticated;
grant all on private.stripe_events to service_role;
