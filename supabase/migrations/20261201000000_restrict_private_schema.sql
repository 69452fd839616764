-- The `private` schema is for the system only: the API roles get no usage on it.
--
-- Postgres grants EXECUTE to PUBLIC on every new function, and that default cannot be revoked for one schema (a
-- per-schema default privilege can only add to the global ones; `alter default privileges in schema private
-- revoke execute … from public` is a no-op). Revoking it globally would also strip extensions created later by
-- postgres (pgTAP in `supabase test db`, for one). So every migration revokes PUBLIC's EXECUTE on each function it
-- creates in `private`, and the schema-hygiene pgTAP test fails if one is ever missed.
--
-- Until now a signed-in user reached `private` for one thing: `public.reprocess_document` (invoker) called the
-- definer `private.reprocess_document`. Reprocessing is now a status change the owner makes on their own row —
-- `update public.documents set status = 'queued'`, allowed by one column grant and an owner policy — and a
-- trigger (definer, in `private`; triggers need no schema usage from the caller) checks it is the one allowed
-- transition and does the requeueing. `public.reprocess_document` stays as the documented entry point.

drop function public.reprocess_document(uuid);
drop function private.reprocess_document(uuid);
revoke usage on schema private from authenticated;

grant update (status) on public.documents to authenticated;

-- Owners may set their own document's status; the trigger below allows only ready/failed → queued.
create policy documents_update_authenticated_own on public.documents for update to authenticated
  using (owner_id = (select auth.uid()))
  with check (owner_id = (select auth.uid()));

-- Guards and carries out a user's status change. The system (worker, triggers, the service role) changes
-- status freely; a user may only move their ready or failed document back to queued, which re-queues it
-- (`private.requeue_document`: chunks and queued work dropped, state reset). Definer: the user holds no
-- privilege on chunks or the queue.
create function private.on_document_status_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  -- A user's own statement: the Data API runs it as `authenticated`, and it is not issued from inside another
  -- trigger (the Storage triggers re-queue replaced files as the system, within the user's upload).
  if pg_catalog.current_setting('role', true) is distinct from 'authenticated' or pg_catalog.pg_trigger_depth() > 1 then
    return null;
  end if;
  if new.status is distinct from 'queued' then
    raise exception 'documents: only reprocessing (status queued) may be requested' using errcode = '42501';
  end if;
  if old.status not in ('ready', 'failed') then
    raise exception 'documents: document is % and cannot be reprocessed yet', old.status using errcode = 'P0001';
  end if;
  perform private.requeue_document(new.id);
  return null;
end
$$;
revoke execute on function private.on_document_status_change() from public, anon, authenticated;

-- Every update of the column, even to the same value: a queued document asked to queue again is refused.
create trigger on_document_status_change after update of status on public.documents
  for each row execute function private.on_document_status_change();

-- Queues one of the caller's ready or failed documents for processing again (the status change above).
create function public.reprocess_document(document_id uuid)
returns public.documents
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  update public.documents d set status = 'queued' where d.id = reprocess_document.document_id;
  if not found then
    raise exception 'documents: document not found' using errcode = 'P0002';
  end if;
  -- Read back after the status trigger has reset the row.
  select * into doc from public.documents d where d.id = reprocess_document.document_id;
  return doc;
end
$$;
comment on function public.reprocess_document(uuid) is 'Queue one of your ready or failed documents for processing again.';
revoke execute on function public.reprocess_document(uuid) from public, anon;
grant execute on function public.reprocess_document(uuid) to authenticated;
