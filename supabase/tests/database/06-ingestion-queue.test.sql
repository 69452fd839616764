-- The worker's side of queue `document_ingestion`, as the service role calls it: a claim leases messages (the
-- visibility timeout moves by the lease, read_ct counts attempts, the document goes processing with the owner's
-- upload limit attached), drops work of an older generation or of a deleted document, and gives up after a fifth
-- attempt that ended without a word. Saving chunks and embeddings is applied only by the holder of a live message
-- of the current generation, upserts by position and queues the next slice; a switch of embedder re-embeds the
-- document. Failures back off 10·2^(n−1) s and fail the document on the fifth attempt or when not retryable.
-- pg_cron wakes the worker while work is due. Nobody but the service role reaches any of it.
begin;
select plan(123);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'free@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'pro@example.com');
insert into public.subscriptions (user_id, plan_id, status) values ('22222222-2222-4222-8222-222222222222', 'pro', 'active');
-- Rows straight into the table: each scenario queues its own messages when it starts.
insert into public.documents (id, owner_id, storage_path, name, status, generation, chunk_count, embedder, embedding_dimensions, processed_at) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/flow.pdf', 'flow.pdf', 'queued', 0, 0, null, null, null),
  ('d2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', '22222222-2222-4222-8222-222222222222/pro.pdf', 'pro.pdf', 'queued', 0, 0, null, null, null),
  ('d3000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/stale.txt', 'stale.txt', 'queued', 1, 0, null, null, null),
  ('d5000000-0000-4000-8000-000000000005', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/dies.txt', 'dies.txt', 'queued', 0, 0, null, null, null),
  ('d6000000-0000-4000-8000-000000000006', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/busy.txt', 'busy.txt', 'queued', 0, 0, null, null, null),
  ('d7000000-0000-4000-8000-000000000007', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/corrupt.pdf', 'corrupt.pdf', 'queued', 0, 0, null, null, null),
  ('d8000000-0000-4000-8000-000000000008', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/switch.txt', 'switch.txt', 'processing', 0, 2, 'gte-small', 384, null),
  ('d9000000-0000-4000-8000-000000000009', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/old-1.txt', 'old-1.txt', 'ready', 3, 1, 'old-model', 384, now() - interval '1 day'),
  ('da000000-0000-4000-8000-00000000000a', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/old-2.txt', 'old-2.txt', 'ready', 0, 1, 'old-model', 384, now() - interval '2 days'),
  ('db000000-0000-4000-8000-00000000000b', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/current.txt', 'current.txt', 'ready', 0, 1, 'gte-small', 384, now() - interval '3 days'),
  ('dc000000-0000-4000-8000-00000000000c', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/old-failed.txt', 'old-failed.txt', 'failed', 0, 1, 'old-model', 384, now() - interval '4 days');
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
select d.id, '11111111-1111-4111-8111-111111111111', i, d.name || ' chunk ' || i, 2,
       case when d.id = 'd8000000-0000-4000-8000-000000000008' and i = 1 then null else array_fill(0.25::real, array[384])::extensions.vector end
  from public.documents d, generate_series(0, d.chunk_count - 1) i
 where d.chunk_count > 0;
-- Message ids the tests need after the message itself is gone.
create temporary table held (name text primary key, msg_id bigint) on commit drop;
grant select on held to service_role;
-- No pending pg_net request and known Vault secrets, for the kicks checked at the end.
delete from net.http_request_queue;
delete from vault.secrets where name in ('project_url', 'worker_secret');
select vault.create_secret('https://pgtap-ref.supabase.co', 'project_url');
select vault.create_secret('sb_secret_pgtap', 'worker_secret');

-- claiming ---------------------------------------------------------------------------------------------------------
select private.enqueue_document('d1000000-0000-4000-8000-000000000001');
select private.enqueue_document('d2000000-0000-4000-8000-000000000002');

set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select results_eq(
  $$select read_ct, message, document ->> 'id', document ->> 'status', (document ->> 'attempts')::int, (document ->> 'generation')::int,
           (document ->> 'max_upload_bytes')::bigint
      from public.ingestion_claim(10, 60) order by msg_id$$,
  $$values (1, '{"kind": "document", "document_id": "d1000000-0000-4000-8000-000000000001", "generation": 0, "stage": "extract", "next_page": 1, "next_chunk": 0}'::jsonb,
            'd1000000-0000-4000-8000-000000000001'::text, 'processing'::text, 1, 0, (select max_upload_bytes from public.plans where id = 'free')),
           (1, '{"kind": "document", "document_id": "d2000000-0000-4000-8000-000000000002", "generation": 0, "stage": "extract", "next_page": 1, "next_chunk": 0}'::jsonb,
            'd2000000-0000-4000-8000-000000000002'::text, 'processing'::text, 1, 0, (select max_upload_bytes from public.plans where id = 'pro'))$$,
  'a claim leases the visible messages oldest first: first attempt, the message, the document processing with the upload limit of its owner''s plan (free; active pro)');
select isnt((select max_upload_bytes from public.plans where id = 'free'), (select max_upload_bytes from public.plans where id = 'pro'),
  '(the free and pro upload limits differ, so the claim above tells the plans apart)');
select results_eq(
  $$select count(*)::int, bool_and(vt >= now() + interval '60 seconds' and vt <= clock_timestamp() + interval '60 seconds'), bool_and(read_ct = 1)
      from pgmq.q_document_ingestion$$,
  $$values (2, true, true)$$,
  'the lease is the visibility timeout: both messages are hidden for the 60 s asked for, read once');
select results_eq(
  $$select id, status::text, attempts from public.documents where id in ('d1000000-0000-4000-8000-000000000001', 'd2000000-0000-4000-8000-000000000002') order by id$$,
  $$values ('d1000000-0000-4000-8000-000000000001'::uuid, 'processing'::text, 1), ('d2000000-0000-4000-8000-000000000002'::uuid, 'processing'::text, 1)$$,
  'claimed documents are processing, their attempts the read count');
select is_empty($$select * from public.ingestion_claim()$$, 'a leased message is not handed out again');
select throws_ok($$select * from public.ingestion_claim(0)$$,
  '22023', 'ingestion_claim: batch must be between 1 and 50', 'a batch of 0 is rejected');
select throws_ok($$select * from public.ingestion_claim(51)$$,
  '22023', 'ingestion_claim: batch must be between 1 and 50', 'a batch over 50 is rejected');
select throws_ok($$select * from public.ingestion_claim(1, 9)$$,
  '22023', 'ingestion_claim: lease_seconds must be between 10 and 3600', 'a lease under 10 s is rejected');
select throws_ok($$select * from public.ingestion_claim(1, 3601)$$,
  '22023', 'ingestion_claim: lease_seconds must be between 10 and 3600', 'a lease over an hour is rejected');

-- acknowledging ------------------------------------------------------------------------------------------------------
set local role postgres;
insert into held select 'pro extract', max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd2000000-0000-4000-8000-000000000002';
set local role service_role;
select is(public.ingestion_ack((select msg_id from held where name = 'pro extract')), true, 'ingestion_ack deletes a message');
select is_empty($$select * from pgmq.q_document_ingestion where msg_id = (select msg_id from held where name = 'pro extract')$$,
  '... it is gone from the queue');
select is_empty($$select * from pgmq.a_document_ingestion$$, '... and not archived');
select is(public.ingestion_ack((select msg_id from held where name = 'pro extract')), false, 'acknowledging it again reports false');

-- extracting: chunks are saved by the holder of the live message, upserted by position ----------------------------------
set local role postgres;
insert into held select 'flow extract 1', max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001';
set local role service_role;

select is(
  public.ingestion_save_chunks((select msg_id from held where name = 'flow extract 1'), 'd1000000-0000-4000-8000-000000000001', 0,
    '[{"chunk_index": 0, "content": "alpha", "token_count": 1, "metadata": {"page": 1}},
      {"chunk_index": 1, "content": "beta", "token_count": 2, "metadata": {"page": 2}}]',
    2, 2, false, '{"stage": "extracting", "done": 2, "total": 3, "unit": "pages"}', 3),
  'saved',
  'the holder saves the first slice of chunks');
select results_eq(
  $$select chunk_index, content, token_count, metadata, embedding is null from public.document_chunks
     where document_id = 'd1000000-0000-4000-8000-000000000001' order by chunk_index$$,
  $$values (0, 'alpha'::text, 1, '{"page": 1}'::jsonb, true), (1, 'beta'::text, 2, '{"page": 2}'::jsonb, true)$$,
  'the slice''s chunks are stored, not yet embedded');
select results_eq(
  $$select status::text, chunk_count, page_count, progress from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('processing'::text, 2, 3, '{"stage": "extracting", "done": 2, "total": 3, "unit": "pages"}'::jsonb)$$,
  'the document shows the chunks so far, its page count and the progress');
select results_eq(
  $$select msg_id = (select msg_id from held where name = 'flow extract 1'), read_ct, vt <= clock_timestamp(), message
      from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values (false, 0, true, '{"kind": "document", "document_id": "d1000000-0000-4000-8000-000000000001", "generation": 0, "stage": "extract", "next_page": 2, "next_chunk": 2}'::jsonb)$$,
  'the held message is consumed and one visible extract message carries the cursor to the next slice');
select is(
  public.ingestion_save_chunks((select msg_id from held where name = 'flow extract 1'), 'd1000000-0000-4000-8000-000000000001', 0,
    '[{"chunk_index": 0, "content": "alpha (late copy)", "token_count": 9}]', 2, 2, false, null, null),
  'superseded',
  'a second save with the same message (a worker whose lease ran out) is superseded');
select results_eq(
  $$select (select string_agg(content, ',' order by chunk_index) from public.document_chunks where document_id = d.id), d.chunk_count, d.progress ->> 'done',
           (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text)
      from public.documents d where d.id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('alpha,beta'::text, 2, '2'::text, 1)$$,
  '... and changes nothing: same chunks, same progress, still one message');

select results_eq($$select read_ct, message ->> 'next_page' from public.ingestion_claim()$$, $$values (1, '2'::text)$$,
  'the next slice is claimed from its cursor');
set local role postgres;
insert into held select 'flow extract 2', max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001';
set local role service_role;
select is(
  public.ingestion_save_chunks((select msg_id from held where name = 'flow extract 2'), 'd1000000-0000-4000-8000-000000000001', 0,
    '[{"chunk_index": 1, "content": "beta (again)", "token_count": 3, "metadata": {"page": 2}},
      {"chunk_index": 2, "content": "gamma", "token_count": 1}]',
    4, 3, true, '{"stage": "extracting", "done": 3, "total": 3, "unit": "pages"}', 3),
  'saved',
  'the last slice is saved, overlapping the previous one at chunk 1');
select results_eq(
  $$select chunk_index, content, token_count, metadata from public.document_chunks
     where document_id = 'd1000000-0000-4000-8000-000000000001' order by chunk_index$$,
  $$values (0, 'alpha'::text, 1, '{"page": 1}'::jsonb), (1, 'beta (again)'::text, 3, '{"page": 2}'::jsonb), (2, 'gamma'::text, 1, '{}'::jsonb)$$,
  'chunks are upserted by (document, index): a chunk saved twice is stored once, with its latest content');
select results_eq(
  $$select message from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('{"kind": "document", "document_id": "d1000000-0000-4000-8000-000000000001", "generation": 0, "stage": "embed", "next_page": 1, "next_chunk": 0}'::jsonb)$$,
  'once extracted, the one message queued is the embed stage''s');
select throws_ok(
  $$select public.ingestion_save_chunks((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'),
      'd1000000-0000-4000-8000-000000000001', 0, '{"chunk_index": 0}', 1, 1, false, null, null)$$,
  '22023', 'ingestion_save_chunks: chunks must be a JSON array', 'chunks that are not a JSON array are refused');
select is((select count(*)::int from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'), 1,
  '... and the refused call consumed no message');

-- embedding --------------------------------------------------------------------------------------------------------
select results_eq($$select read_ct, message ->> 'stage', document ->> 'status' from public.ingestion_claim()$$,
  $$values (1, 'embed'::text, 'processing'::text)$$, 'the embed stage is claimed');
set local role postgres;
insert into held select 'flow embed 1', max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001';
set local role service_role;
select throws_ok(
  $$select public.ingestion_save_embeddings((select msg_id from held where name = 'flow embed 1'), 'd1000000-0000-4000-8000-000000000001', 0,
      '[{"chunk_index": 0, "embedding": "[1,2,3]"}]', 'gte-small', 3)$$,
  '22000', 'expected 384 dimensions, not 3', 'embeddings of the wrong size are refused');
select results_eq(
  $$select (select count(*)::int from pgmq.q_document_ingestion q where q.msg_id = (select msg_id from held where name = 'flow embed 1')),
           (select count(*)::int from public.document_chunks c where c.document_id = d.id and c.embedding is not null), d.embedder
      from public.documents d where d.id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values (1, 0, null::text)$$,
  '... whole: the message is still held and nothing was stored');
select is(
  public.ingestion_save_embeddings((select msg_id from held where name = 'flow embed 1'), 'd1000000-0000-4000-8000-000000000001', 0,
    jsonb_build_array(
      jsonb_build_object('chunk_index', 0, 'embedding', to_jsonb(array_fill(0.5::real, array[384]))::text),
      jsonb_build_object('chunk_index', 1, 'embedding', to_jsonb(array[1::real] || array_fill(0::real, array[383]))::text)),
    'gte-small', 384),
  'saved',
  'the holder saves embeddings for two of the three chunks (384 numbers as JSON array text)');
select results_eq(
  $$select chunk_index, embedding = array_fill(0.5::real, array[384])::extensions.vector, embedding = (array[1::real] || array_fill(0::real, array[383]))::extensions.vector
      from public.document_chunks where document_id = 'd1000000-0000-4000-8000-000000000001' and embedding is not null order by chunk_index$$,
  $$values (0, true, false), (1, false, true)$$,
  'each vector is stored on its chunk');
select results_eq(
  $$select status::text, embedder, embedding_dimensions, progress, processed_at from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('processing'::text, 'gte-small'::text, 384, '{"stage": "embedding", "done": 2, "total": 3, "unit": "chunks"}'::jsonb, null::timestamptz)$$,
  'until every chunk has its embedding the document reports embedding progress and the embedder');
select results_eq(
  $$select read_ct, message from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values (0, '{"kind": "document", "document_id": "d1000000-0000-4000-8000-000000000001", "generation": 0, "stage": "embed", "next_page": 1, "next_chunk": 0}'::jsonb)$$,
  '... and a fresh embed message is queued for the rest');
select results_eq($$select read_ct, message ->> 'stage' from public.ingestion_claim()$$, $$values (1, 'embed'::text)$$,
  'the rest is claimed');
select is(
  public.ingestion_save_embeddings((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'),
    'd1000000-0000-4000-8000-000000000001', 0,
    jsonb_build_array(jsonb_build_object('chunk_index', 2, 'embedding', to_jsonb(array_fill(0.125::real, array[384]))::text)),
    'gte-small', 384),
  'ready',
  'the last embeddings make the document ready');
select results_eq(
  $$select status::text, chunk_count, embedder, embedding_dimensions, processed_at = now(), progress, error, error_code
      from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('ready'::text, 3, 'gte-small'::text, 384, true, null::jsonb, null::text, null::text)$$,
  'a ready document has its chunk count, embedder, dimensions and processed_at, and no progress');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' = 'd1000000-0000-4000-8000-000000000001'$$,
  'nothing is left queued for a ready document');
select is_empty($$select * from public.document_chunks where document_id = 'd1000000-0000-4000-8000-000000000001' and embedding is null$$,
  'every chunk of the ready document has its embedding');

-- superseded work is dropped, never applied -------------------------------------------------------------------------
set local role postgres;
-- d3 is in generation 1 (reprocessed) while a message of generation 0 is still queued; d4 was deleted.
select pgmq.send('document_ingestion', '{"kind": "document", "document_id": "d3000000-0000-4000-8000-000000000003", "generation": 0, "stage": "embed", "next_page": 1, "next_chunk": 0}');
select pgmq.send('document_ingestion', '{"kind": "document", "document_id": "d4000000-0000-4000-8000-000000000004", "generation": 0, "stage": "extract", "next_page": 1, "next_chunk": 0}');
select private.enqueue_document('d5000000-0000-4000-8000-000000000005');
set local role service_role;

select results_eq($$select message ->> 'document_id', read_ct from public.ingestion_claim(10)$$,
  $$values ('d5000000-0000-4000-8000-000000000005'::text, 1)$$,
  'a claim hands out only current work: not a message of an older generation, not one of a deleted document');
select is_empty(
  $$select * from pgmq.q_document_ingestion where message ->> 'document_id' in ('d3000000-0000-4000-8000-000000000003', 'd4000000-0000-4000-8000-000000000004')$$,
  'the superseded messages were deleted');
select is_empty($$select * from pgmq.a_document_ingestion$$, '... not archived as failures');
select results_eq($$select status::text, attempts, generation from public.documents where id = 'd3000000-0000-4000-8000-000000000003'$$,
  $$values ('queued'::text, 0, 1)$$, '... and the document of the older message was not touched');

-- Two messages of d3's generation 1 are held when the document moves on to generation 2.
set local role postgres;
select pgmq.send('document_ingestion', '{"kind": "document", "document_id": "d3000000-0000-4000-8000-000000000003", "generation": 1, "stage": "extract", "next_page": 1, "next_chunk": 0}');
select pgmq.send('document_ingestion', '{"kind": "document", "document_id": "d3000000-0000-4000-8000-000000000003", "generation": 1, "stage": "embed", "next_page": 1, "next_chunk": 0}');
set local role service_role;
select results_eq($$select message ->> 'stage', read_ct from public.ingestion_claim(2) order by msg_id$$,
  $$values ('extract'::text, 1), ('embed'::text, 1)$$, 'a worker claims both messages of generation 1');
set local role postgres;
insert into held select 'stale ' || (message ->> 'stage'), max(msg_id) from pgmq.q_document_ingestion
 where message ->> 'document_id' = 'd3000000-0000-4000-8000-000000000003' and message ->> 'generation' = '1' group by message ->> 'stage';
update public.documents set generation = 2, status = 'queued' where id = 'd3000000-0000-4000-8000-000000000003';
set local role service_role;
select is(
  public.ingestion_save_chunks((select msg_id from held where name = 'stale extract'), 'd3000000-0000-4000-8000-000000000003', 1,
    '[{"chunk_index": 0, "content": "outdated", "token_count": 1}]', 1, 1, true, null, null),
  'superseded',
  'saving chunks for an older generation is superseded, though the message is still there');
select is(
  public.ingestion_fail((select msg_id from held where name = 'stale embed'), 'd3000000-0000-4000-8000-000000000003', 1, 'rate_limited', 'Busy.', true),
  'superseded',
  'failing a message of an older generation is superseded too');
select results_eq(
  $$select d.status::text, d.generation, d.chunk_count, d.error_code,
           (select count(*)::int from public.document_chunks c where c.document_id = d.id),
           (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text)
      from public.documents d where d.id = 'd3000000-0000-4000-8000-000000000003'$$,
  $$values ('queued'::text, 2, 0, null::text, 0, 0)$$,
  '... neither was applied, and both old messages were deleted');

-- a worker that dies: five silent attempts, then the message is archived and the document failed ---------------------
select is_empty($$select * from public.ingestion_claim()$$, 'while its lease runs, the dying worker''s message stays hidden');
set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005';
set local role service_role;
select results_eq($$select read_ct, (document ->> 'attempts')::int from public.ingestion_claim()$$, $$values (2, 2)$$,
  'its lease expired with no word: the message is claimed again, second attempt');
set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005';
set local role service_role;
select results_eq($$select read_ct, (document ->> 'attempts')::int from public.ingestion_claim()$$, $$values (3, 3)$$,
  'third attempt');
set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005';
set local role service_role;
select results_eq($$select read_ct, (document ->> 'attempts')::int from public.ingestion_claim()$$, $$values (4, 4)$$,
  'fourth attempt');
set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005';
set local role service_role;
select results_eq($$select read_ct, (document ->> 'attempts')::int, document ->> 'status' from public.ingestion_claim()$$,
  $$values (5, 5, 'processing'::text)$$, 'fifth attempt');
set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005';
set local role service_role;
select is_empty($$select * from public.ingestion_claim()$$, 'after a fifth attempt with no word the message is not handed out again');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005'$$,
  '... it left the queue');
select results_eq($$select read_ct, message ->> 'stage' from pgmq.a_document_ingestion where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005'$$,
  $$values (6, 'extract'::text)$$, '... into the archive, pgmq.a_document_ingestion');
select results_eq(
  $$select status::text, error_code, error, progress from public.documents where id = 'd5000000-0000-4000-8000-000000000005'$$,
  $$values ('failed'::text, 'processing_stopped'::text, 'Processing stopped unexpectedly several times. Try reprocessing the document later.'::text, null::jsonb)$$,
  '... and the document failed with processing_stopped and a sentence for the user');
select is(
  public.ingestion_save_chunks((select max(msg_id) from pgmq.a_document_ingestion where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005'),
    'd5000000-0000-4000-8000-000000000005', 0, '[{"chunk_index": 0, "content": "late", "token_count": 1}]', 2, 1, false, null, null),
  'superseded',
  'a worker that comes back after its message was archived is superseded');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.a_document_ingestion where message ->> 'document_id' = 'd5000000-0000-4000-8000-000000000005'),
    'd5000000-0000-4000-8000-000000000005', 0, 'rate_limited', 'Busy.', true),
  'superseded',
  '... whether it reports chunks or a failure');
select results_eq(
  $$select d.status::text, d.error_code, d.chunk_count, (select count(*)::int from public.document_chunks c where c.document_id = d.id),
           (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text)
      from public.documents d where d.id = 'd5000000-0000-4000-8000-000000000005'$$,
  $$values ('failed'::text, 'processing_stopped'::text, 0, 0, 0)$$,
  '... the failed document keeps its state and nothing is stored or queued');

-- retryable failures back off 10, 20, 40, 80 s; the fifth attempt fails the document ----------------------------------
set local role postgres;
select private.enqueue_document('d6000000-0000-4000-8000-000000000006');
set local role service_role;
select results_eq($$select read_ct, message ->> 'document_id' from public.ingestion_claim()$$,
  $$values (1, 'd6000000-0000-4000-8000-000000000006'::text)$$, 'a busy document is claimed, first attempt');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
    'd6000000-0000-4000-8000-000000000006', 0, 'rate_limited', 'The embedding service is busy. It will be tried again shortly.', true),
  'retrying',
  'a retryable failure on the first attempt is retried');
select ok(
  (select vt >= now() + interval '10 seconds' and vt <= clock_timestamp() + interval '10 seconds'
     from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
  '... after 10 s: the message''s visibility timeout was set to 10 s from the failure, replacing the 120 s lease');
select results_eq(
  $$select status::text, error_code, error, progress, attempts from public.documents where id = 'd6000000-0000-4000-8000-000000000006'$$,
  $$values ('queued'::text, 'rate_limited'::text, 'The embedding service is busy. It will be tried again shortly.'::text, null::jsonb, 1)$$,
  'the document is queued again with the error code and its sentence');
select is_empty($$select * from public.ingestion_claim()$$, 'a message waiting out its backoff is not claimed');

set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006';
set local role service_role;
select results_eq($$select read_ct from public.ingestion_claim()$$, array[2], 'once the backoff has passed it is claimed: second attempt');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
    'd6000000-0000-4000-8000-000000000006', 0, 'rate_limited', 'Busy.', true),
  'retrying', 'the second attempt fails: retrying');
select ok(
  (select vt >= now() + interval '20 seconds' and vt <= clock_timestamp() + interval '20 seconds'
     from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
  '... after 20 s');

set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006';
set local role service_role;
select results_eq($$select read_ct from public.ingestion_claim()$$, array[3], 'third attempt');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
    'd6000000-0000-4000-8000-000000000006', 0, 'rate_limited', 'Busy.', true),
  'retrying', 'the third attempt fails: retrying');
select ok(
  (select vt >= now() + interval '40 seconds' and vt <= clock_timestamp() + interval '40 seconds'
     from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
  '... after 40 s');

set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006';
set local role service_role;
select results_eq($$select read_ct from public.ingestion_claim()$$, array[4], 'fourth attempt');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
    'd6000000-0000-4000-8000-000000000006', 0, 'rate_limited', 'Busy.', true),
  'retrying', 'the fourth attempt fails: retrying');
select ok(
  (select vt >= now() + interval '80 seconds' and vt <= clock_timestamp() + interval '80 seconds'
     from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
  '... after 80 s');

set local role postgres;
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006';
set local role service_role;
select results_eq($$select read_ct from public.ingestion_claim()$$, array[5], 'fifth attempt');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd6000000-0000-4000-8000-000000000006'),
    'd6000000-0000-4000-8000-000000000006', 0, 'rate_limited', 'The embedding service stayed busy. Try reprocessing the document later.', true),
  'failed', 'a retryable failure on the fifth attempt is final');
select results_eq(
  $$select (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text),
           (select max(a.read_ct) from pgmq.a_document_ingestion a where a.message ->> 'document_id' = d.id::text),
           d.status::text, d.error_code, d.error
      from public.documents d where d.id = 'd6000000-0000-4000-8000-000000000006'$$,
  $$values (0, 5, 'failed'::text, 'rate_limited'::text, 'The embedding service stayed busy. Try reprocessing the document later.'::text)$$,
  '... the message is archived and the document failed with the code and sentence');

-- a failure that no retry can fix ---------------------------------------------------------------------------------------
set local role postgres;
select private.enqueue_document('d7000000-0000-4000-8000-000000000007');
set local role service_role;
select results_eq($$select read_ct, message ->> 'document_id' from public.ingestion_claim()$$,
  $$values (1, 'd7000000-0000-4000-8000-000000000007'::text)$$, 'a corrupt file is claimed');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd7000000-0000-4000-8000-000000000007'),
    'd7000000-0000-4000-8000-000000000007', 0, 'corrupt_file', repeat('x', 1500), false),
  'failed', 'a failure that is not retryable is final on the first attempt');
select results_eq(
  $$select (select count(*)::int from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text),
           (select count(*)::int from pgmq.a_document_ingestion a where a.message ->> 'document_id' = d.id::text),
           d.status::text, d.error_code, length(d.error)
      from public.documents d where d.id = 'd7000000-0000-4000-8000-000000000007'$$,
  $$values (0, 1, 'failed'::text, 'corrupt_file'::text, 1000)$$,
  '... archived, the document failed with its code, the sentence cut to 1000 characters');
select is(public.ingestion_fail(999999999, 'd7000000-0000-4000-8000-000000000007', 0, 'corrupt_file', 'x', false), 'superseded',
  'failing a message that is no longer queued is superseded');
select results_eq($$select status::text, length(error) from public.documents where id = 'd7000000-0000-4000-8000-000000000007'$$,
  $$values ('failed'::text, 1000)$$, '... and changes nothing');

-- the embedder changes mid-document: never mix two models' vectors ---------------------------------------------------
set local role postgres;
select pgmq.send('document_ingestion', '{"kind": "document", "document_id": "d8000000-0000-4000-8000-000000000008", "generation": 0, "stage": "embed", "next_page": 1, "next_chunk": 0}');
set local role service_role;
select results_eq($$select read_ct, message ->> 'document_id' from public.ingestion_claim()$$,
  $$values (1, 'd8000000-0000-4000-8000-000000000008'::text)$$, 'a half-embedded document is claimed');
select is(
  public.ingestion_save_embeddings((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = 'd8000000-0000-4000-8000-000000000008'),
    'd8000000-0000-4000-8000-000000000008', 0,
    jsonb_build_array(jsonb_build_object('chunk_index', 1, 'embedding', to_jsonb(array_fill(0.5::real, array[384]))::text)),
    'text-embedding-3-small', 384),
  'superseded',
  'embeddings from a different embedder than the document''s are superseded');
select results_eq(
  $$select d.status::text, d.generation, d.embedder, d.embedding_dimensions, d.chunk_count,
           (select count(*)::int from public.document_chunks c where c.document_id = d.id),
           (select count(*)::int from public.document_chunks c where c.document_id = d.id and c.embedding is not null)
      from public.documents d where d.id = 'd8000000-0000-4000-8000-000000000008'$$,
  $$values ('queued'::text, 1, null::text, null::integer, 2, 2, 0)$$,
  '... the document is re-embedded: a new generation, its chunks kept, every embedding dropped');
select results_eq(
  $$select read_ct, message from pgmq.q_document_ingestion where message ->> 'document_id' = 'd8000000-0000-4000-8000-000000000008'$$,
  $$values (0, '{"kind": "document", "document_id": "d8000000-0000-4000-8000-000000000008", "generation": 1, "stage": "embed", "next_page": 1, "next_chunk": 0}'::jsonb)$$,
  '... and one embed message of the new generation is queued');

-- ready documents embedded with another model are queued for re-embedding ------------------------------------------------
select results_eq($$select * from public.ingestion_reembed_stale('gte-small', 1)$$,
  $$values ('da000000-0000-4000-8000-00000000000a'::uuid)$$,
  'ingestion_reembed_stale takes stale ready documents oldest first, at most the batch');
select results_eq($$select * from public.ingestion_reembed_stale('gte-small')$$,
  $$values ('d9000000-0000-4000-8000-000000000009'::uuid)$$,
  'the next call takes the remaining stale ready document, not the one already queued');
select results_eq(
  $$select d.id, d.status::text, d.generation, d.embedder, (select count(*)::int from public.document_chunks c where c.document_id = d.id and c.embedding is not null),
           (select string_agg(q.message ->> 'stage' || ':' || (q.message ->> 'generation'), ',') from pgmq.q_document_ingestion q where q.message ->> 'document_id' = d.id::text)
      from public.documents d where d.id in ('d9000000-0000-4000-8000-000000000009', 'da000000-0000-4000-8000-00000000000a', 'db000000-0000-4000-8000-00000000000b', 'dc000000-0000-4000-8000-00000000000c')
     order by d.id$$,
  $$values ('d9000000-0000-4000-8000-000000000009'::uuid, 'queued'::text, 4, null::text, 0, 'embed:4'::text),
           ('da000000-0000-4000-8000-00000000000a'::uuid, 'queued'::text, 1, null::text, 0, 'embed:1'::text),
           ('db000000-0000-4000-8000-00000000000b'::uuid, 'ready'::text, 0, 'gte-small'::text, 1, null::text),
           ('dc000000-0000-4000-8000-00000000000c'::uuid, 'failed'::text, 0, 'old-model'::text, 1, null::text)$$,
  'stale documents are queued in a new generation with their embeddings dropped and one embed message; current and failed ones are left alone');
select is_empty($$select * from public.ingestion_reembed_stale('gte-small')$$, 'with nothing stale left, nothing is queued');

-- other kinds of message: a user's files to purge ----------------------------------------------------------------------
set local role postgres;
-- Hide the document work queued above, so the claim below sees the purge message alone.
update pgmq.q_document_ingestion set vt = now() + interval '1 hour';
select pgmq.send('document_ingestion', '{"kind": "purge_user_files", "user_id": "33333333-3333-4333-8333-333333333333"}');
set local role service_role;
select results_eq($$select read_ct, message, document from public.ingestion_claim()$$,
  $$values (1, '{"kind": "purge_user_files", "user_id": "33333333-3333-4333-8333-333333333333"}'::jsonb, null::jsonb)$$,
  'a message of another kind is handed out as it is, with no document');
select is(
  public.ingestion_fail((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files'), null, null, 'storage_unavailable', 'Storage did not answer.', true),
  'retrying', 'its failure is retried like any other (no document to update)');
select is(public.ingestion_ack((select max(msg_id) from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files')), true,
  'once done it is acknowledged');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files'$$, '... and gone');

-- pg_cron wakes the worker while work is due ---------------------------------------------------------------------------
set local role postgres;
select results_eq(
  $$select schedule, command, active from cron.job where jobname = 'process-documents'$$,
  $$values ('10 seconds'::text, 'select private.kick_worker(only_if_due => true)'::text, true)$$,
  'pg_cron runs the worker kick every 10 seconds');
delete from net.http_request_queue;
select is(private.kick_worker(only_if_due => true), null, 'the scheduled kick sends nothing while every message is leased or backing off');
select is_empty($$select * from net.http_request_queue$$, '... no request is queued');
update pgmq.q_document_ingestion set vt = now() - interval '1 second' where message ->> 'document_id' = 'd8000000-0000-4000-8000-000000000008';
select isnt(private.kick_worker(only_if_due => true), null, 'once a message is visible the scheduled kick posts to the worker');
select results_eq($$select method::text, url, headers ->> 'Authorization' from net.http_request_queue$$,
  $$values ('POST'::text, 'https://pgtap-ref.supabase.co/functions/v1/worker'::text, 'Bearer sb_secret_pgtap'::text)$$,
  '... one POST to the worker function with the secret from Vault');
select is(private.kick_worker(only_if_due => true), null, 'a kick still waiting to be sent is not doubled');
delete from net.http_request_queue;
select isnt(public.ingestion_kick(), null, 'ingestion_kick (a worker out of time handing over) posts while a message is visible');

-- nobody but the service role reaches the queue, Vault or the worker's functions ---------------------------------------
create temporary table queue_before on commit drop as select msg_id, read_ct, vt, message from pgmq.q_document_ingestion;

set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select throws_ok($$select * from public.ingestion_claim()$$,
  '42501', 'permission denied for function ingestion_claim', 'a signed-in user cannot claim ingestion work');
select throws_ok($$select public.ingestion_save_chunks(1, 'd1000000-0000-4000-8000-000000000001', 0, '[]', 1, 0, true, null, null)$$,
  '42501', 'permission denied for function ingestion_save_chunks', 'a signed-in user cannot save chunks');
select throws_ok($$select public.ingestion_save_embeddings(1, 'd1000000-0000-4000-8000-000000000001', 0, '[]', 'gte-small', 384)$$,
  '42501', 'permission denied for function ingestion_save_embeddings', 'a signed-in user cannot save embeddings');
select throws_ok($$select public.ingestion_fail(1, 'd1000000-0000-4000-8000-000000000001', 0, 'x', 'x', false)$$,
  '42501', 'permission denied for function ingestion_fail', 'a signed-in user cannot fail ingestion work');
select throws_ok($$select public.ingestion_ack(1)$$,
  '42501', 'permission denied for function ingestion_ack', 'a signed-in user cannot acknowledge messages');
select throws_ok($$select public.ingestion_kick()$$,
  '42501', 'permission denied for function ingestion_kick', 'a signed-in user cannot wake the worker');
select throws_ok($$select * from public.ingestion_reembed_stale('x')$$,
  '42501', 'permission denied for function ingestion_reembed_stale', 'a signed-in user cannot queue re-embedding');
select throws_ok($$select * from pgmq.q_document_ingestion$$,
  '42501', 'permission denied for schema pgmq', 'a signed-in user cannot read the queue');
select throws_ok($$select * from pgmq.a_document_ingestion$$,
  '42501', 'permission denied for schema pgmq', 'a signed-in user cannot read the archive');
select throws_ok($$select pgmq.send('document_ingestion', '{"kind": "purge_user_files", "user_id": "22222222-2222-4222-8222-222222222222"}')$$,
  '42501', 'permission denied for schema pgmq', 'a signed-in user cannot send messages');
select throws_ok($$select * from vault.decrypted_secrets$$,
  '42501', 'permission denied for schema vault', 'a signed-in user cannot read the worker''s secrets');
select throws_ok($$select private.kick_worker()$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot kick the worker');
select throws_ok($$select * from cron.job$$,
  '42501', 'permission denied for schema cron', 'a signed-in user cannot read or change the schedule');

set local role anon;
set local request.jwt.claims to '{"role": "anon"}';
select throws_ok($$select * from public.ingestion_claim()$$,
  '42501', 'permission denied for function ingestion_claim', 'anon cannot claim ingestion work');
select throws_ok($$select public.ingestion_save_chunks(1, 'd1000000-0000-4000-8000-000000000001', 0, '[]', 1, 0, true, null, null)$$,
  '42501', 'permission denied for function ingestion_save_chunks', 'anon cannot save chunks');
select throws_ok($$select public.ingestion_save_embeddings(1, 'd1000000-0000-4000-8000-000000000001', 0, '[]', 'gte-small', 384)$$,
  '42501', 'permission denied for function ingestion_save_embeddings', 'anon cannot save embeddings');
select throws_ok($$select public.ingestion_fail(1, 'd1000000-0000-4000-8000-000000000001', 0, 'x', 'x', false)$$,
  '42501', 'permission denied for function ingestion_fail', 'anon cannot fail ingestion work');
select throws_ok($$select public.ingestion_ack(1)$$,
  '42501', 'permission denied for function ingestion_ack', 'anon cannot acknowledge messages');
select throws_ok($$select * from public.ingestion_reembed_stale('x')$$,
  '42501', 'permission denied for function ingestion_reembed_stale', 'anon cannot queue re-embedding');
select throws_ok($$select * from pgmq.q_document_ingestion$$,
  '42501', 'permission denied for schema pgmq', 'anon cannot read the queue');
select throws_ok($$select * from pgmq.a_document_ingestion$$,
  '42501', 'permission denied for schema pgmq', 'anon cannot read the archive');
select throws_ok($$select * from vault.secrets$$,
  '42501', 'permission denied for schema vault', 'anon cannot read Vault');
select throws_ok($$select private.kick_worker()$$,
  '42501', 'permission denied for schema private', 'anon cannot kick the worker');

set local role postgres;
select results_eq(
  $$select msg_id, read_ct, vt, message from pgmq.q_document_ingestion order by msg_id$$,
  $$select msg_id, read_ct, vt, message from queue_before order by msg_id$$,
  'the denied calls changed no message');
select is((select count(*)::int from net.http_request_queue), 1, '... and sent no extra request to the worker');

select * from finish();
rollback;
