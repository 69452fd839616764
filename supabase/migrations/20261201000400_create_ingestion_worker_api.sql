-- The worker's side of the queue: RPCs the `worker` function calls through the Data API with the service role.
-- Each is one transaction, so a slice of work is applied whole or not at all:
--   ingestion_claim            read a batch (the lease), drop superseded messages, give up on exhausted ones
--   ingestion_save_chunks      extracted chunks + the next slice's message (or the embed stage's)
--   ingestion_save_embeddings  embeddings + the next slice's message, or the document ready
--   ingestion_fail             retry later with backoff (set_vt), or archive and fail the document
--   ingestion_ack              a message that is done (e.g. a user's files purged)
--   ingestion_kick             wake another invocation when this one stops with work left
--   ingestion_reembed_stale    queue ready documents embedded with another model for re-embedding
-- A message whose document moved to a new generation (reprocessed, replaced) or went away is deleted unapplied.
-- After 5 attempts at a slice the message is archived (kept in pgmq.a_document_ingestion) and the document fails.

create function public.ingestion_claim(batch integer default 4, lease_seconds integer default 120)
returns table (msg_id bigint, read_ct integer, message jsonb, document jsonb)
language plpgsql
security invoker
set search_path = ''
as $$
declare
  m record;
  doc public.documents;
begin
  if batch not between 1 and 50 then
    raise exception 'ingestion_claim: batch must be between 1 and 50' using errcode = '22023';
  end if;
  if lease_seconds not between 10 and 3600 then
    raise exception 'ingestion_claim: lease_seconds must be between 10 and 3600' using errcode = '22023';
  end if;
  for m in select r.msg_id, r.read_ct, r.message from pgmq.read('document_ingestion', lease_seconds, batch) r loop
    if m.message ->> 'kind' is distinct from 'document' then
      msg_id := m.msg_id; read_ct := m.read_ct; message := m.message; document := null;
      return next;
      continue;
    end if;
    select * into doc from public.documents d where d.id = (m.message ->> 'document_id')::uuid for update;
    if not found or doc.generation is distinct from (m.message ->> 'generation')::integer then
      perform pgmq.delete('document_ingestion', m.msg_id);
      continue;
    end if;
    if m.read_ct > 5 then
      -- The fifth attempt ended without a word from the worker (it died or ran out of time): give up.
      perform pgmq.archive('document_ingestion', m.msg_id);
      update public.documents d
         set status = 'failed', progress = null, updated_at = pg_catalog.now(),
             error_code = coalesce(d.error_code, 'processing_stopped'),
             error = coalesce(d.error, 'Processing stopped unexpectedly several times. Try reprocessing the document later.')
       where d.id = doc.id;
      continue;
    end if;
    update public.documents d set status = 'processing', attempts = m.read_ct, updated_at = pg_catalog.now()
     where d.id = doc.id
    returning * into doc;
    msg_id := m.msg_id; read_ct := m.read_ct; message := m.message;
    -- Files that came through a signed upload URL skipped the upload function's plan check: the worker makes it.
    document := pg_catalog.to_jsonb(doc)
      || pg_catalog.jsonb_build_object('max_upload_bytes', (private.plan_for(doc.owner_id)).max_upload_bytes);
    return next;
  end loop;
end
$$;
comment on function public.ingestion_claim(integer, integer) is 'Worker only: lease a batch of ingestion messages.';

-- The document a worker holds a message for, locked; or null when the work no longer applies: the message is gone
-- (another worker whose lease overlapped already applied it) or belongs to an older generation (then it is
-- deleted). With `take`, the message is consumed here, in the caller's transaction: of two workers holding the
-- same message, exactly one applies it.
create function private.held_document(msg_id bigint, document_id uuid, generation integer, take boolean)
returns public.documents
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  select * into doc from public.documents d where d.id = held_document.document_id for update;
  if not found or doc.generation is distinct from held_document.generation then
    perform pgmq.delete('document_ingestion', held_document.msg_id);
    return null;
  end if;
  if take then
    if not pgmq.delete('document_ingestion', held_document.msg_id) then
      return null;
    end if;
  elsif not exists (select 1 from pgmq.q_document_ingestion q where q.msg_id = held_document.msg_id) then
    return null;
  end if;
  return doc;
end
$$;

-- Queues the next message of the same document and generation (the held one was taken). No kick: the worker
-- that saved keeps claiming while its time lasts, and asks for a kick when it stops with work left
-- (`ingestion_kick`); pg_cron covers a worker that died.
create function private.continue_ingestion(doc public.documents, next jsonb)
returns void
language sql
security invoker
set search_path = ''
as $$
  select pgmq.send('document_ingestion', next || pg_catalog.jsonb_build_object(
    'kind', 'document', 'document_id', doc.id, 'generation', doc.generation));
$$;

create function public.ingestion_save_chunks(
  msg_id bigint, document_id uuid, generation integer, chunks jsonb,
  next_page integer, next_chunk integer, extracted boolean, progress jsonb, page_count integer default null)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
begin
  doc := private.held_document(msg_id, document_id, generation, true);
  if doc.id is null then
    return 'superseded';
  end if;
  if pg_catalog.jsonb_typeof(chunks) is distinct from 'array' then
    raise exception 'ingestion_save_chunks: chunks must be a JSON array' using errcode = '22023';
  end if;
  -- Upsert by position: a slice applied twice (a retried message) leaves one set of chunks.
  insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, metadata)
  select doc.id, doc.owner_id, (c ->> 'chunk_index')::integer, c ->> 'content', (c ->> 'token_count')::integer,
         coalesce(c -> 'metadata', '{}'::jsonb)
    from pg_catalog.jsonb_array_elements(ingestion_save_chunks.chunks) c
  -- By constraint name: the column names would clash with this function's parameters.
  on conflict on constraint document_chunks_document_id_chunk_index_key do update
    set content = excluded.content, token_count = excluded.token_count, metadata = excluded.metadata, embedding = null;
  update public.documents d
     set chunk_count = ingestion_save_chunks.next_chunk, progress = ingestion_save_chunks.progress,
         page_count = coalesce(ingestion_save_chunks.page_count, d.page_count), error = null, error_code = null,
         updated_at = pg_catalog.now()
   where d.id = doc.id;
  perform private.continue_ingestion(doc, case
    when extracted then pg_catalog.jsonb_build_object('stage', 'embed', 'next_page', 1, 'next_chunk', 0)
    else pg_catalog.jsonb_build_object('stage', 'extract', 'next_page', next_page, 'next_chunk', next_chunk) end);
  return 'saved';
end
$$;
comment on function public.ingestion_save_chunks(bigint, uuid, integer, jsonb, integer, integer, boolean, jsonb, integer)
  is 'Worker only: store a slice of extracted chunks and queue what comes next.';

create function public.ingestion_save_embeddings(
  msg_id bigint, document_id uuid, generation integer, embeddings jsonb, embedder text, dimensions integer)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
  total integer;
  missing integer;
begin
  doc := private.held_document(msg_id, document_id, generation, true);
  if doc.id is null then
    return 'superseded';
  end if;
  if doc.embedder is not null and doc.embedder is distinct from ingestion_save_embeddings.embedder then
    -- The model changed between two slices: never mix vector spaces in one document.
    perform private.reembed_document(doc.id);
    return 'superseded';
  end if;
  update public.document_chunks c
     set embedding = (e ->> 'embedding')::extensions.vector
    from pg_catalog.jsonb_array_elements(embeddings) e
   where c.document_id = doc.id and c.chunk_index = (e ->> 'chunk_index')::integer;
  select pg_catalog.count(*), pg_catalog.count(*) filter (where c.embedding is null) into total, missing
    from public.document_chunks c where c.document_id = doc.id;
  if missing = 0 then
    update public.documents d
       set status = 'ready', chunk_count = total, embedder = ingestion_save_embeddings.embedder,
           embedding_dimensions = dimensions, progress = null, error = null, error_code = null,
           processed_at = pg_catalog.now(), updated_at = pg_catalog.now()
     where d.id = doc.id;
    return 'ready';
  end if;
  update public.documents d
     set embedder = ingestion_save_embeddings.embedder, embedding_dimensions = dimensions, error = null, error_code = null,
         progress = pg_catalog.jsonb_build_object('stage', 'embedding', 'done', total - missing, 'total', total, 'unit', 'chunks'),
         updated_at = pg_catalog.now()
   where d.id = doc.id;
  perform private.continue_ingestion(doc, pg_catalog.jsonb_build_object('stage', 'embed', 'next_page', 1, 'next_chunk', 0));
  return 'saved';
end
$$;
comment on function public.ingestion_save_embeddings(bigint, uuid, integer, jsonb, text, integer)
  is 'Worker only: store embeddings of a slice; the document is ready once every chunk has one.';

create function public.ingestion_fail(
  msg_id bigint, document_id uuid, generation integer, error_code text, error text, retryable boolean)
returns text
language plpgsql
security invoker
set search_path = ''
as $$
declare
  doc public.documents;
  attempts integer;
begin
  select q.read_ct into attempts from pgmq.q_document_ingestion q where q.msg_id = ingestion_fail.msg_id;
  if not found then
    return 'superseded';
  end if;
  if document_id is not null then
    doc := private.held_document(msg_id, document_id, generation, false);
    if doc.id is null then
      return 'superseded';
    end if;
  end if;
  if retryable and attempts < 5 then
    -- Back off 10, 20, 40, 80 s before attempts 2–5.
    perform pgmq.set_vt('document_ingestion', msg_id, (10 * pg_catalog.power(2, attempts - 1))::integer);
    update public.documents d
       set status = 'queued', error_code = ingestion_fail.error_code, error = pg_catalog.left(ingestion_fail.error, 1000),
           progress = null, updated_at = pg_catalog.now()
     where d.id = doc.id;
    return 'retrying';
  end if;
  perform pgmq.archive('document_ingestion', msg_id);
  update public.documents d
     set status = 'failed', error_code = ingestion_fail.error_code, error = pg_catalog.left(ingestion_fail.error, 1000),
         progress = null, updated_at = pg_catalog.now()
   where d.id = doc.id;
  return 'failed';
end
$$;
comment on function public.ingestion_fail(bigint, uuid, integer, text, text, boolean)
  is 'Worker only: record a failed attempt: retry with backoff, or archive and fail the document.';

create function public.ingestion_ack(msg_id bigint)
returns boolean
language sql
security invoker
set search_path = ''
as $$
  select pgmq.delete('document_ingestion', ingestion_ack.msg_id);
$$;
comment on function public.ingestion_ack(bigint) is 'Worker only: a message that is done.';

create function public.ingestion_kick()
returns bigint
language sql
security invoker
set search_path = ''
as $$
  select private.kick_worker(only_if_due => true);
$$;
comment on function public.ingestion_kick() is 'Worker only: wake another worker invocation if a message is visible (the pg_net request id, or null).';

create function public.ingestion_reembed_stale(embedder text, batch integer default 20)
returns setof uuid
language sql
security invoker
set search_path = ''
as $$
  select (private.reembed_document(d.id)).id
    from public.documents d
   where d.status = 'ready' and d.embedder is distinct from ingestion_reembed_stale.embedder
   order by d.processed_at
   limit ingestion_reembed_stale.batch;
$$;
comment on function public.ingestion_reembed_stale(text, integer)
  is 'Worker only: queue ready documents embedded with another model to be embedded again.';

revoke execute on function
  public.ingestion_claim(integer, integer),
  public.ingestion_save_chunks(bigint, uuid, integer, jsonb, integer, integer, boolean, jsonb, integer),
  public.ingestion_save_embeddings(bigint, uuid, integer, jsonb, text, integer),
  public.ingestion_fail(bigint, uuid, integer, text, text, boolean),
  public.ingestion_ack(bigint),
  public.ingestion_kick(),
  public.ingestion_reembed_stale(text, integer),
  private.held_document(bigint, uuid, integer, boolean),
  private.continue_ingestion(public.documents, jsonb)
  from public, anon, authenticated;
grant execute on function
  public.ingestion_claim(integer, integer),
  public.ingestion_save_chunks(bigint, uuid, integer, jsonb, integer, integer, boolean, jsonb, integer),
  public.ingestion_save_embeddings(bigint, uuid, integer, jsonb, text, integer),
  public.ingestion_fail(bigint, uuid, integer, text, text, boolean),
  public.ingestion_ack(bigint),
  public.ingestion_kick(),
  public.ingestion_reembed_stale(text, integer)
  to service_role;
-- What those RPCs call on the service role's behalf.
grant execute on function
  private.held_document(bigint, uuid, integer, boolean),
  private.continue_ingestion(public.documents, jsonb),
  private.reembed_document(uuid),
  private.send_ingestion(public.documents, text),
  private.drop_ingestion_messages(uuid),
  private.kick_worker(boolean),
  private.plan_for(uuid)
  to service_role;
