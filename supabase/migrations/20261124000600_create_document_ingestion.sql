-- Every way a file reaches bucket `documents` — the upload function, a browser using supabase-js, a signed
-- upload URL — becomes a `documents` row and a `process_document` job in the same transaction, through these
-- triggers on storage.objects. Removing the object removes the row, its chunks and its jobs; replacing it
-- (upsert) queues it again; moving it renames it. No path leaves one side without the other.

-- The bucket (also declared in config.toml for the CLI; this makes every environment agree).
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values (
  'documents', 'documents', false, 50 * 1024 * 1024,
  array[
    'text/plain', 'text/markdown', 'text/csv', 'text/html', 'application/json', 'application/pdf',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
  ]
)
on conflict (id) do update
  set public = excluded.public,
      file_size_limit = excluded.file_size_limit,
      allowed_mime_types = excluded.allowed_mime_types;

-- Users keep files only in their own folder: documents/{auth.uid()}/…
create policy documents_objects_select_authenticated_own on storage.objects for select to authenticated
  using (bucket_id = 'documents' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy documents_objects_insert_authenticated_own on storage.objects for insert to authenticated
  with check (bucket_id = 'documents' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy documents_objects_update_authenticated_own on storage.objects for update to authenticated
  using (bucket_id = 'documents' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id = 'documents' and (storage.foldername(name))[1] = (select auth.uid())::text);
create policy documents_objects_delete_authenticated_own on storage.objects for delete to authenticated
  using (bucket_id = 'documents' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- Puts a `process_document` job for the document on the queue.
create function private.enqueue_document(document_id uuid)
returns void
language sql
security invoker
set search_path = ''
as $$
  insert into private.jobs (kind, document_id, payload)
  values ('process_document', enqueue_document.document_id,
          pg_catalog.jsonb_build_object('document_id', enqueue_document.document_id));
$$;

-- Starts a document's processing over: drops its chunks and unfinished jobs, resets its state and queues it.
create function private.requeue_document(document_id uuid)
returns public.documents
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  delete from public.document_chunks c where c.document_id = requeue_document.document_id;
  delete from private.jobs j where j.document_id = requeue_document.document_id and j.status in ('queued', 'running');
  update public.documents d
     set status = 'queued', error = null, chunk_count = 0, processed_at = null, updated_at = now()
   where d.id = requeue_document.document_id
  returning * into doc;
  perform private.enqueue_document(requeue_document.document_id);
  return doc;
end
$$;

revoke execute on function private.enqueue_document(uuid), private.requeue_document(uuid) from public, anon, authenticated;

-- Creates the document row and its job for a new object. Definer: the uploader may not write either table.
create function private.create_document_for_object(object storage.objects)
returns void
language plpgsql
security definer
set search_path = ''
as $$
declare
  owner uuid;
  chat uuid;
  doc uuid;
begin
  if pg_catalog.array_length(storage.foldername(object.name), 1) is distinct from 1 then
    raise exception 'documents: files must be stored as {user_id}/{file name}' using errcode = 'P0001';
  end if;
  begin
    owner := (storage.foldername(object.name))[1]::uuid;
  exception when invalid_text_representation then
    raise exception 'documents: files must be stored as {user_id}/{file name}' using errcode = 'P0001';
  end;

  if object.user_metadata ? 'chat_id' then
    begin
      chat := (object.user_metadata ->> 'chat_id')::uuid;
    exception when invalid_text_representation then
      raise exception 'documents: chat_id is not a chat of the owner' using errcode = 'P0001';
    end;
    if not exists (select 1 from public.chats c where c.id = chat and c.owner_id = owner) then
      raise exception 'documents: chat_id is not a chat of the owner' using errcode = 'P0001';
    end if;
  end if;

  insert into public.documents (owner_id, bucket_id, storage_path, name, mime_type, size_bytes, chat_id)
  values (
    owner, object.bucket_id, object.name, storage.filename(object.name),
    object.metadata ->> 'mimetype', (object.metadata ->> 'size')::bigint, chat
  )
  returning id into doc;

  perform private.enqueue_document(doc);
end
$$;

create function private.on_documents_object_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  doc uuid;
begin
  if tg_op = 'INSERT' then
    perform private.create_document_for_object(new);
    return null;
  end if;

  if tg_op = 'DELETE' then
    delete from public.documents where bucket_id = old.bucket_id and storage_path = old.name;
    return null;
  end if;

  -- UPDATE: moved out of the bucket, moved within it, or its content replaced.
  if new.bucket_id is distinct from 'documents' then
    delete from public.documents where bucket_id = old.bucket_id and storage_path = old.name;
    return null;
  end if;
  if old.bucket_id is distinct from 'documents' then
    perform private.create_document_for_object(new);
    return null;
  end if;
  if new.name is distinct from old.name then
    if (storage.foldername(new.name))[1] is distinct from (storage.foldername(old.name))[1] then
      raise exception 'documents: files cannot move to another user''s folder' using errcode = '42501';
    end if;
    if pg_catalog.array_length(storage.foldername(new.name), 1) is distinct from 1 then
      raise exception 'documents: files must be stored as {user_id}/{file name}' using errcode = 'P0001';
    end if;
    update public.documents
       set storage_path = new.name, name = storage.filename(new.name), updated_at = now()
     where bucket_id = old.bucket_id and storage_path = old.name;
  end if;
  if new.version is distinct from old.version or new.metadata ->> 'eTag' is distinct from old.metadata ->> 'eTag' then
    -- New content: what was known about the old one no longer holds.
    update public.documents
       set sha256 = null, mime_type = new.metadata ->> 'mimetype', size_bytes = (new.metadata ->> 'size')::bigint
     where bucket_id = new.bucket_id and storage_path = new.name
    returning id into doc;
    if doc is not null then
      perform private.requeue_document(doc);
    end if;
  end if;
  return null;
end
$$;

revoke execute on function private.create_document_for_object(storage.objects), private.on_documents_object_change()
  from public, anon, authenticated;

create trigger on_documents_object_insert after insert on storage.objects
  for each row when (new.bucket_id = 'documents')
  execute function private.on_documents_object_change();
create trigger on_documents_object_update after update on storage.objects
  for each row when (new.bucket_id = 'documents' or old.bucket_id = 'documents')
  execute function private.on_documents_object_change();
create trigger on_documents_object_delete after delete on storage.objects
  for each row when (old.bucket_id = 'documents')
  execute function private.on_documents_object_change();

-- Queues a ready or failed document for processing again. Definer in `private` (the queue is there);
-- callers use the invoker wrapper public.reprocess_document, which the Data API exposes.
create function private.reprocess_document(document_id uuid)
returns public.documents
language plpgsql
security definer
set search_path = ''
as $$
declare
  doc public.documents;
begin
  select * into doc from public.documents d where d.id = document_id and d.owner_id = (select auth.uid()) for update;
  if not found then
    raise exception 'documents: document not found' using errcode = 'P0002';
  end if;
  if doc.status not in ('ready', 'failed') then
    raise exception 'documents: document is % and cannot be reprocessed yet', doc.status using errcode = 'P0001';
  end if;
  return private.requeue_document(doc.id);
end
$$;
revoke execute on function private.reprocess_document(uuid) from public, anon;
grant usage on schema private to authenticated;
grant execute on function private.reprocess_document(uuid) to authenticated;

create function public.reprocess_document(document_id uuid)
returns public.documents
language sql
security invoker
set search_path = ''
as $$
  select * from private.reprocess_document(document_id);
$$;
comment on function public.reprocess_document(uuid) is 'Queue one of your ready or failed documents for processing again.';
revoke execute on function public.reprocess_document(uuid) from public, anon;
grant execute on function public.reprocess_document(uuid) to authenticated;
