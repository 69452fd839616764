-- Document processing moves onto Supabase Queues (pgmq), replacing the home-made `private.jobs`.
--
-- Queue `document_ingestion` carries one message per piece of work:
--   {"kind": "document", "document_id": …, "generation": n, "stage": "extract" | "embed", "next_page": p, "next_chunk": c}
-- The visibility timeout of a read is the lease: a worker that dies loses nothing, the message reappears when its
-- lease runs out. `read_ct` counts the attempts at one slice of work. A document's `generation` goes up every time
-- it is queued afresh (reprocess, replaced file): messages of an older generation are dropped, never applied.
--
-- Hosted Supabase installs pgmq 1.5.1 (older projects 1.4.4; the lite stack's PGlite has 1.11.1). Only what all
-- three have, with the same signatures, is used: create, send(queue, message), read (its columns named, since
-- newer versions return more), set_vt with integer seconds, delete, archive.

create extension if not exists pgmq;
select pgmq.create('document_ingestion');

-- The worker's RPCs (a later migration) run as the service role and work the queue directly.
grant usage on schema pgmq to service_role;
grant select, insert, update, delete on pgmq.q_document_ingestion, pgmq.a_document_ingestion to service_role;
grant usage, select on all sequences in schema pgmq to service_role;
grant execute on all functions in schema pgmq to service_role;

alter table public.documents
  add column generation integer not null default 0 check (generation >= 0),
  add column attempts integer not null default 0 check (attempts >= 0),
  add column error_code text check (error_code ~ '^[a-z][a-z0-9_]*$'),
  add column progress jsonb check (progress is null or jsonb_typeof(progress) = 'object'),
  add column page_count integer check (page_count >= 0),
  add column embedder text,
  add column embedding_dimensions integer check (embedding_dimensions > 0);
comment on column public.documents.generation is 'Bumped each time the document is queued afresh; older queued work is dropped.';
comment on column public.documents.attempts is 'Attempts at the current slice of work (the queue message''s read count).';
comment on column public.documents.error_code is 'Stable code of the processing failure (e.g. no_text, corrupt_file), with error.';
comment on column public.documents.error is 'Why processing failed (status failed), or why it is being retried (status queued): one sentence.';
comment on column public.documents.progress is 'While processing: {"stage": "extracting"|"embedding", "done": n, "total": n, "unit": "pages"|"chunks"}.';
comment on column public.documents.page_count is 'Pages of a PDF, once known.';
comment on column public.documents.embedder is 'The embedding model the chunks were embedded with; search compares only vectors of the same model.';
comment on column public.documents.embedding_dimensions is 'Dimensions of the embeddings (384).';
create index documents_status_embedder_idx on public.documents (status, embedder);

-- The old queue and its functions go; nothing reads them any more.
drop function private.claim_jobs(text, text, integer, integer);
drop function private.complete_job(bigint, text);
drop function private.fail_job(bigint, text, text);
drop table private.jobs;

-- Sends the first message of a document's current generation (stage `stage`) and wakes the worker.
create function private.send_ingestion(doc public.documents, stage text)
returns bigint
language plpgsql
security invoker
set search_path = ''
as $$
declare
  msg_id bigint;
begin
  select pgmq.send('document_ingestion', pg_catalog.jsonb_build_object(
    'kind', 'document', 'document_id', doc.id, 'generation', doc.generation,
    'stage', stage, 'next_page', 1, 'next_chunk', 0)) into msg_id;
  perform private.kick_worker();
  return msg_id;
end
$$;

-- Drops the queued messages of a document (work of an older generation, or of a document going away).
create function private.drop_ingestion_messages(document_id uuid)
returns void
language sql
security invoker
set search_path = ''
as $$
  select pgmq.delete('document_ingestion', pg_catalog.array_agg(q.msg_id))
    from pgmq.q_document_ingestion q
   where q.message ->> 'document_id' = drop_ingestion_messages.document_id::text
  having pg_catalog.count(*) > 0;
$$;

-- Queues a new document (its row was just created at generation 0).
create or replace function private.enqueue_document(document_id uuid)
returns void
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  select * into doc from public.documents d where d.id = enqueue_document.document_id;
  perform private.send_ingestion(doc, 'extract');
end
$$;

-- Starts a document's processing over: a new generation, no chunks, no queued work, state reset, queued.
create or replace function private.requeue_document(document_id uuid)
returns public.documents
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  perform private.drop_ingestion_messages(requeue_document.document_id);
  delete from public.document_chunks c where c.document_id = requeue_document.document_id;
  update public.documents d
     set status = 'queued', generation = d.generation + 1, attempts = 0, error = null, error_code = null,
         progress = null, chunk_count = 0, page_count = null, embedder = null, embedding_dimensions = null,
         processed_at = null, updated_at = now()
   where d.id = requeue_document.document_id
  returning * into doc;
  perform private.send_ingestion(doc, 'extract');
  return doc;
end
$$;

-- Embeds a ready document again (the embedder changed): same chunks, embeddings dropped, a new generation.
create function private.reembed_document(document_id uuid)
returns public.documents
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  perform private.drop_ingestion_messages(reembed_document.document_id);
  update public.document_chunks c set embedding = null where c.document_id = reembed_document.document_id;
  update public.documents d
     set status = 'queued', generation = d.generation + 1, attempts = 0, error = null, error_code = null,
         progress = null, embedder = null, embedding_dimensions = null, processed_at = null, updated_at = now()
   where d.id = reembed_document.document_id
  returning * into doc;
  perform private.send_ingestion(doc, 'embed');
  return doc;
end
$$;

-- Deleting a document (its file was removed) drops its queued work with it.
create function private.on_document_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform private.drop_ingestion_messages(old.id);
  return null;
end
$$;
create trigger on_document_deleted after delete on public.documents
  for each row execute function private.on_document_deleted();

revoke execute on function private.send_ingestion(public.documents, text), private.drop_ingestion_messages(uuid),
  private.reembed_document(uuid), private.on_document_deleted() from public, anon, authenticated;
