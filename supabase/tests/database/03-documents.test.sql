-- Documents and their chunks are read by their owner only (including vector search) and written only by the
-- system: ingestion triggers and the worker (service role). The one user action is reprocessing: setting the
-- status of one's own ready or failed document to queued (directly, or through reprocess_document), which starts
-- a new generation: chunks, results and older queued messages are dropped and one `extract` message is queued.
begin;
select plan(52);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.chats (id, owner_id, title) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner chat');
-- Rows straight into the table (no Storage trigger), so no message is queued for them until a test does it.
insert into public.documents (id, owner_id, storage_path, name, chat_id, status, chunk_count, error, error_code,
                              attempts, page_count, embedder, embedding_dimensions, processed_at) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/ready.txt', 'ready.txt', 'c1000000-0000-4000-8000-000000000001', 'ready', 2, null, null, 1, 3, 'gte-small', 384, now()),
  ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', '22222222-2222-4222-8222-222222222222/secret.txt', 'secret.txt', null, 'ready', 1, null, null, 1, null, 'gte-small', 384, now()),
  ('d3000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/queued.txt', 'queued.txt', null, 'queued', 0, null, null, 0, null, null, null, null),
  ('d4000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/failed.txt', 'failed.txt', null, 'failed', 0, 'The file could not be read.', 'corrupt_file', 5, null, null, null, null),
  ('d5000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/processing.txt', 'processing.txt', null, 'processing', 0, null, null, 1, null, null, null, null);
-- The stranger's chunk is the exact match for the query vector below; the owner's are further away.
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 0, 'owner chunk 0', 3,
   (array[1::real] || array_fill(0::real, array[383]))::extensions.vector),
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 1, 'owner chunk 1', 3,
   (array_fill(1::real, array[192]) || array_fill(0::real, array[192]))::extensions.vector),
  ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 0, 'stranger chunk 0', 3,
   array_fill(1::real, array[384])::extensions.vector);

select policies_are('public', 'documents', array['documents_select_authenticated_own', 'documents_update_authenticated_own'],
  'documents has the owner read and the owner update (reprocess) policies');
select policies_are('public', 'document_chunks', array['document_chunks_select_authenticated_own'],
  'document_chunks has only the owner read policy');

-- owner -----------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$select name from public.documents order by name$$,
  array['failed.txt', 'processing.txt', 'queued.txt', 'ready.txt'],
  'the owner lists exactly their own documents');
select results_eq(
  $$select content from public.document_chunks order by chunk_index$$,
  array['owner chunk 0', 'owner chunk 1'],
  'the owner reads exactly their own chunks');
select results_eq(
  $$select content from public.document_chunks
     order by embedding operator(extensions.<=>) array_fill(1::real, array[384])::extensions.vector limit 1$$,
  array['owner chunk 1'],
  'vector search by the owner ranks only their own chunks, never a closer chunk of another user');
select throws_ok(
  $$insert into public.documents (owner_id, storage_path, name) values ('11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/x.txt', 'x.txt')$$,
  '42501', 'permission denied for table documents', 'the owner cannot insert a document row (only Storage creates them)');
select throws_ok($$update public.documents set status = 'ready' where id = 'd3000000-0000-4000-8000-000000000003'$$,
  '42501', 'documents: only reprocessing (status queued) may be requested', 'the owner cannot mark a document ready');
select throws_ok($$update public.documents set status = 'failed' where id = 'd1000000-0000-4000-8000-000000000001'$$,
  '42501', 'documents: only reprocessing (status queued) may be requested', 'the owner cannot mark a document failed');
select throws_ok($$update public.documents set chunk_count = 1000 where id = 'd1000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table documents', 'the owner cannot set a document''s chunk count');
select throws_ok($$update public.documents set owner_id = '22222222-2222-4222-8222-222222222222' where id = 'd1000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table documents', 'the owner cannot give a document away');
select throws_ok($$update public.documents set storage_path = '22222222-2222-4222-8222-222222222222/secret.txt' where id = 'd1000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table documents', 'the owner cannot repoint a document at another file');
select throws_ok($$delete from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  '42501', 'permission denied for table documents', 'the owner cannot delete the row (only deleting the file does)');
select throws_ok(
  $$insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count) values ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 9, 'planted', 1)$$,
  '42501', 'permission denied for table document_chunks', 'the owner cannot insert chunks');
select throws_ok($$update public.document_chunks set content = 'poisoned'$$,
  '42501', 'permission denied for table document_chunks', 'the owner cannot edit chunks');
select throws_ok($$delete from public.document_chunks$$,
  '42501', 'permission denied for table document_chunks', 'the owner cannot delete chunks');

-- stranger --------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';

select results_eq($$select name from public.documents$$, array['secret.txt'],
  'a stranger sees only their own document');
select is_empty($$select * from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  'a stranger cannot read the owner''s document by id');
select is_empty($$select * from public.document_chunks where document_id = 'd1000000-0000-4000-8000-000000000001'$$,
  'a stranger cannot read the owner''s chunks');
select throws_ok($$select * from public.reprocess_document('d1000000-0000-4000-8000-000000000001')$$,
  'P0002', 'documents: document not found', 'a stranger cannot reprocess the owner''s document');
select is_empty($$update public.documents set status = 'queued' where id = 'd1000000-0000-4000-8000-000000000001' returning id$$,
  'a stranger''s status update does not reach the owner''s document');
select throws_ok($$select private.requeue_document('d1000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot reach the private schema');

-- anon ------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.documents$$,
  '42501', 'permission denied for table documents', 'anon cannot read documents');
select throws_ok($$select * from public.document_chunks$$,
  '42501', 'permission denied for table document_chunks', 'anon cannot read chunks');
select throws_ok($$update public.documents set status = 'queued'$$,
  '42501', 'permission denied for table documents', 'anon cannot change documents');
select throws_ok($$select * from public.reprocess_document('d1000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for function reprocess_document', 'anon cannot call reprocess_document');
select throws_ok($$select private.requeue_document('d1000000-0000-4000-8000-000000000001')$$,
  '42501', 'permission denied for schema private', 'anon cannot reach the private schema');

set local role postgres;
select results_eq(
  $$select status::text, chunk_count, (select count(*)::int from public.document_chunks c where c.document_id = d.id)
      from public.documents d where d.id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('ready'::text, 2, 2)$$,
  'the owner''s document and chunks are unchanged after the stranger''s and anon''s attempts');
select is_empty($$select * from pgmq.q_document_ingestion$$,
  'no message was queued by the denied reprocess attempts');

-- A message of the failed document's generation 0 is still queued (a retry that was waiting out its backoff).
select pgmq.send('document_ingestion', jsonb_build_object('kind', 'document', 'document_id', 'd4000000-0000-4000-8000-000000000004',
  'generation', 0, 'stage', 'embed', 'next_page', 1, 'next_chunk', 7));

-- owner reprocesses ------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$select id, status::text, generation, chunk_count, processed_at from public.reprocess_document('d1000000-0000-4000-8000-000000000001')$$,
  $$values ('d1000000-0000-4000-8000-000000000001'::uuid, 'queued'::text, 1, 0, null::timestamptz)$$,
  'the owner reprocesses a ready document: it is queued again, in generation 1, with no chunks');
select is_empty($$select * from public.document_chunks where document_id = 'd1000000-0000-4000-8000-000000000001'$$,
  'reprocessing removes the old chunks');
select results_eq(
  $$update public.documents set status = 'queued' where id = 'd4000000-0000-4000-8000-000000000004' returning status::text$$,
  $$values ('queued'::text)$$,
  'the owner reprocesses a failed document with a plain status update');
select results_eq(
  $$select status::text, generation, error, error_code, attempts from public.documents where id = 'd4000000-0000-4000-8000-000000000004'$$,
  $$values ('queued'::text, 1, null::text, null::text, 0)$$,
  'reprocessing clears the error and its code and the attempts, in a new generation');
select results_eq(
  $$select status::text, attempts, page_count, embedder, embedding_dimensions, progress, processed_at
      from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('queued'::text, 0, null::integer, null::text, null::integer, null::jsonb, null::timestamptz)$$,
  'reprocessing forgets the page count, the embedder and its dimensions');
select throws_ok($$select * from public.reprocess_document('d3000000-0000-4000-8000-000000000003')$$,
  'P0001', 'documents: document is queued and cannot be reprocessed yet', 'a queued document cannot be reprocessed');
select throws_ok($$select * from public.reprocess_document('d5000000-0000-4000-8000-000000000005')$$,
  'P0001', 'documents: document is processing and cannot be reprocessed yet', 'a processing document cannot be reprocessed');
select throws_ok($$select * from public.reprocess_document('d1000000-0000-4000-8000-000000000001')$$,
  'P0001', 'documents: document is queued and cannot be reprocessed yet', 'reprocessing twice does not queue twice');
select throws_ok($$select * from public.reprocess_document('d2000000-0000-4000-8000-000000000002')$$,
  'P0002', 'documents: document not found', 'the owner cannot reprocess the stranger''s document');
select throws_ok($$select * from public.reprocess_document('dead0000-0000-4000-8000-000000000000')$$,
  'P0002', 'documents: document not found', 'an unknown id is not found');

set local role postgres;
select results_eq(
  $$select message, read_ct from pgmq.q_document_ingestion order by message ->> 'document_id'$$,
  $$values ('{"kind": "document", "document_id": "d1000000-0000-4000-8000-000000000001", "generation": 1, "stage": "extract", "next_page": 1, "next_chunk": 0}'::jsonb, 0),
           ('{"kind": "document", "document_id": "d4000000-0000-4000-8000-000000000004", "generation": 1, "stage": "extract", "next_page": 1, "next_chunk": 0}'::jsonb, 0)$$,
  'each reprocessed document has exactly one fresh extract message of its new generation; the stale one is gone');
select is_empty($$select * from pgmq.a_document_ingestion$$,
  'the dropped message was deleted, not archived as a failure');
select results_eq(
  $$select status::text, chunk_count from public.documents where id = 'd2000000-0000-4000-8000-000000000002'$$,
  $$values ('ready'::text, 1)$$,
  'the stranger''s document is untouched');

-- service role (the worker) ----------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select is((select count(*)::int from public.documents), 5, 'the service role reads every document');
select lives_ok(
  $$update public.documents set status = 'processing', updated_at = now() where id = 'd2000000-0000-4000-8000-000000000002'$$,
  'the service role sets a document''s status');
select results_eq(
  $$select d.status::text, d.generation, d.chunk_count,
           (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text)
      from public.documents d where d.id = 'd2000000-0000-4000-8000-000000000002'$$,
  $$values ('processing'::text, 0, 1, 0)$$,
  'a status change by the service role (the worker) is not a reprocess request: nothing is reset or queued');
select lives_ok(
  $$insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
    values ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 1, 'stranger chunk 1', 3, array_fill(0.5::real, array[384])::extensions.vector)$$,
  'the service role writes chunks');
select throws_ok(
  $$insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count) values ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 1, 'dup', 1)$$,
  '23505', 'duplicate key value violates unique constraint "document_chunks_document_id_chunk_index_key"', 'a chunk index is unique per document');
select throws_ok(
  $$insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding) values ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 2, 'short', 1, '[1,2,3]')$$,
  '22000', 'expected 384 dimensions, not 3', 'embeddings must have 384 dimensions');
select throws_ok(
  $$update public.documents set sha256 = 'not-a-hash' where id = 'd2000000-0000-4000-8000-000000000002'$$,
  '23514', 'new row for relation "documents" violates check constraint "documents_sha256_check"', 'sha256 must be 64 hex digits');
select throws_ok(
  $$insert into public.documents (owner_id, storage_path, name) values ('22222222-2222-4222-8222-222222222222', '22222222-2222-4222-8222-222222222222/secret.txt', 'secret.txt')$$,
  '23505', 'duplicate key value violates unique constraint "documents_bucket_id_storage_path_key"', 'one document per stored object');
select lives_ok($$delete from public.documents where id = 'd2000000-0000-4000-8000-000000000002'$$,
  'the service role deletes a document');
select is_empty($$select * from public.document_chunks where document_id = 'd2000000-0000-4000-8000-000000000002'$$,
  'deleting a document deletes its chunks');

-- deleting a chat keeps the documents uploaded into it ---------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
delete from public.chats where id = 'c1000000-0000-4000-8000-000000000001';
select results_eq(
  $$select chat_id from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values (null::uuid)$$,
  'deleting a chat detaches its documents instead of deleting them');

select * from finish();
rollback;
