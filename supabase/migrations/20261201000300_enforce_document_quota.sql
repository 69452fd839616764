-- A plan's `max_documents` holds on every way into bucket `documents` (the upload function, supabase-js straight
-- to Storage, a signed upload URL): the document row's insert checks it, under a per-user lock, so two uploads
-- racing for the last slot cannot both pass. The refusal is 42501, which Storage answers as 403 with the message.

-- The plan a user's limits come from: the plan of an active subscription (Stripe keeps `past_due` active while
-- it retries), else `free`.
create function private.plan_for(user_id uuid)
returns public.plans
language sql
stable
security invoker
set search_path = ''
as $$
  select p.*
    from public.plans p
   where p.id = coalesce(
     (select s.plan_id from public.subscriptions s
       where s.user_id = plan_for.user_id and s.status in ('active', 'trialing', 'past_due')),
     'free');
$$;
comment on function private.plan_for(uuid) is 'The plan whose limits apply to a user.';

create function private.enforce_document_quota()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  plan public.plans;
  used integer;
begin
  -- Serialises the count-then-insert of one user's uploads; other users are not held up.
  perform pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtextextended('documents:' || new.owner_id::text, 0));
  plan := private.plan_for(new.owner_id);
  select pg_catalog.count(*) into used from public.documents d where d.owner_id = new.owner_id;
  if used >= plan.max_documents then
    raise exception 'documents: the % plan allows % documents; delete one or upgrade to add more', plan.name, plan.max_documents
      using errcode = '42501';
  end if;
  return new;
end
$$;
revoke execute on function private.enforce_document_quota(), private.plan_for(uuid) from public, anon, authenticated;

create trigger enforce_document_quota before insert on public.documents
  for each row execute function private.enforce_document_quota();
