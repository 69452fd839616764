-- Every object in bucket `documents` has exactly one `documents` row, created in the same transaction as the
-- object together with ONE message on queue `document_ingestion` (generation 0, stage extract); a bad path,
-- someone else's chat or a failing statement makes the upload fail and leaves neither. Replacing the file starts a
-- new generation (old message and chunks dropped, one new message); moving renames it; deleting it (or moving it
-- out of the bucket) removes the row, its chunks and its queued messages. Queuing work wakes the worker through
-- pg_net with the URL and key from Vault: one pending request is enough, and without the secrets nothing is sent.
begin;
select plan(57);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.chats (id, owner_id, title) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner chat'),
  ('c2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Stranger chat');
insert into storage.buckets (id, name, public) values ('scratch', 'scratch', false);
-- Start without the worker's Vault secrets and with no pending pg_net request (all undone by the rollback).
delete from vault.secrets where name in ('project_url', 'worker_secret');
delete from net.http_request_queue;

-- upload as the owner (what storage-js does through the Storage API) --------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/report.pdf', '11111111-1111-4111-8111-111111111111', 'v1',
            '{"mimetype": "application/pdf", "size": 1234, "eTag": "\"e1\""}', '{"chat_id": "c1000000-0000-4000-8000-000000000001"}')$$,
  'the owner uploads a file into a chat');
select results_eq(
  $$select owner_id, storage_path, name, mime_type, size_bytes, chat_id, status::text, chunk_count, generation, attempts from public.documents$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, '11111111-1111-4111-8111-111111111111/report.pdf'::text, 'report.pdf'::text,
            'application/pdf'::text, 1234::bigint, 'c1000000-0000-4000-8000-000000000001'::uuid, 'queued'::text, 0, 0, 0)$$,
  'the upload created its document row, queued in generation 0, before the statement returned');

set local role postgres;
select results_eq(
  $$select q.message, q.read_ct, q.vt <= clock_timestamp() from pgmq.q_document_ingestion q$$,
  $$select jsonb_build_object('kind', 'document', 'document_id', d.id, 'generation', 0, 'stage', 'extract', 'next_page', 1, 'next_chunk', 0),
           0, true
      from public.documents d$$,
  'the upload queued exactly one visible extract message, generation 0, for that document');
select is_empty($$select * from net.http_request_queue$$,
  'without project_url and worker_secret in Vault the upload sends no request to the worker');

set local role authenticated;
select throws_ok(
  $$with o as (
      insert into storage.objects (bucket_id, name, version, metadata)
      values ('documents', '11111111-1111-4111-8111-111111111111/doomed.txt', 'v1', '{"mimetype": "text/plain", "size": 1, "eTag": "\"d\""}')
      returning id)
    select 1 / 0 from o$$,
  '22012', 'division by zero', 'an upload whose statement fails after the insert is undone whole (checked below)');

-- the worker's Vault secrets are set (as on a deployed project) ----------------------------------------------
set local role postgres;
select vault.create_secret('https://pgtap-ref.supabase.co/', 'project_url');
select vault.create_secret('sb_secret_pgtap', 'worker_secret');

set local role authenticated;
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata) values
      ('documents', '11111111-1111-4111-8111-111111111111/a.txt', 'v1', '{"mimetype": "text/plain", "size": 1, "eTag": "\"a\""}'),
      ('documents', '11111111-1111-4111-8111-111111111111/b.txt', 'v1', '{"mimetype": "text/plain", "size": 2, "eTag": "\"b\""}')$$,
  'the owner uploads two files in one statement');

set local role postgres;
select results_eq(
  $$select method::text, url, headers, convert_from(body, 'UTF8')::jsonb, timeout_milliseconds from net.http_request_queue$$,
  $$values ('POST'::text, 'https://pgtap-ref.supabase.co/functions/v1/worker'::text,
            '{"Content-Type": "application/json", "Authorization": "Bearer sb_secret_pgtap", "apikey": "sb_secret_pgtap"}'::jsonb,
            '{}'::jsonb, 120000)$$,
  'with the secrets in Vault, two uploads queue exactly one POST to <project_url>/functions/v1/worker with the secret as bearer and apikey');

set local role authenticated;
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/c.txt', 'v1', '{"mimetype": "text/plain", "size": 3, "eTag": "\"c\""}')$$,
  'the owner uploads another file in the same transaction');
set local role postgres;
select is((select count(*)::int from net.http_request_queue), 1,
  'a request to the worker that is still waiting to be sent is enough: the next upload queues no second one');
select is((select count(*)::int from pgmq.q_document_ingestion), 4,
  '... while every upload still queued its own message');

-- bad uploads leave nothing ----------------------------------------------------------------------------------
set local role authenticated;
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', '11111111-1111-4111-8111-111111111111/sub/deep.txt', 'v1')$$,
  'P0001', 'documents: files must be stored as {user_id}/{file name}', 'an upload into a sub-folder fails');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/into-their-chat.txt', 'v1', '{"chat_id": "c2000000-0000-4000-8000-000000000002"}')$$,
  'P0001', 'documents: chat_id is not a chat of the owner', 'an upload into another user''s chat fails');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/bad-chat.txt', 'v1', '{"chat_id": "not-a-uuid"}')$$,
  'P0001', 'documents: chat_id is not a chat of the owner', 'an upload with a malformed chat_id fails');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/no-chat.txt', 'v1', '{"chat_id": "c9000000-0000-4000-8000-000000000009"}')$$,
  'P0001', 'documents: chat_id is not a chat of the owner', 'an upload into a chat that does not exist fails');

set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', 'not-a-uuid/file.txt', 'v1')$$,
  'P0001', 'documents: files must be stored as {user_id}/{file name}', 'even the service role cannot store a file outside a user folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', 'loose.txt', 'v1')$$,
  'P0001', 'documents: files must be stored as {user_id}/{file name}', 'even the service role cannot store a file at the bucket root');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/x.txt', 'v1', '{"chat_id": "c2000000-0000-4000-8000-000000000002"}')$$,
  'P0001', 'documents: chat_id is not a chat of the owner', 'even the service role cannot attach a file to a chat of another user');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('scratch', 'anything/goes/here.txt', 'v1')$$,
  'a file in another bucket is not ingested');

set local role postgres;
select results_eq(
  $$select name from storage.objects where bucket_id = 'documents' order by name$$,
  array['11111111-1111-4111-8111-111111111111/a.txt', '11111111-1111-4111-8111-111111111111/b.txt',
        '11111111-1111-4111-8111-111111111111/c.txt', '11111111-1111-4111-8111-111111111111/report.pdf'],
  '... and the failed uploads left no object behind');
select results_eq(
  $$select d.storage_path, count(q.msg_id)::int, min(q.message ->> 'stage'), min((q.message ->> 'generation')::int)
      from public.documents d left join pgmq.q_document_ingestion q on q.message ->> 'document_id' = d.id::text
     group by d.storage_path order by d.storage_path$$,
  $$values ('11111111-1111-4111-8111-111111111111/a.txt'::text, 1, 'extract'::text, 0),
           ('11111111-1111-4111-8111-111111111111/b.txt', 1, 'extract', 0),
           ('11111111-1111-4111-8111-111111111111/c.txt', 1, 'extract', 0),
           ('11111111-1111-4111-8111-111111111111/report.pdf', 1, 'extract', 0)$$,
  'exactly one document and one extract message per stored object, none for the failed uploads or other buckets');
select is_empty(
  $$select * from pgmq.q_document_ingestion q
     where not exists (select 1 from public.documents d where d.id::text = q.message ->> 'document_id')$$,
  'no message exists without its document');

-- the worker finished report.pdf (its message is gone); then the owner touches and replaces it ---------------
update public.documents
   set status = 'ready', chunk_count = 2, processed_at = now(), sha256 = repeat('a', 64), embedder = 'gte-small',
       embedding_dimensions = 384, attempts = 1
 where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf';
delete from pgmq.q_document_ingestion
 where message ->> 'document_id' = (select id::text from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf');
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count)
select id, owner_id, i, 'chunk ' || i, 2
  from public.documents, generate_series(0, 1) i
 where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf';
create temporary table report on commit drop as
  select id from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf';
grant select on report to authenticated, service_role;

set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select lives_ok(
  $$update storage.objects set last_accessed_at = now() + interval '1 minute'
     where name = '11111111-1111-4111-8111-111111111111/report.pdf'$$,
  'the owner touches the file without changing its content');
select results_eq(
  $$select status::text, generation, chunk_count from public.documents where id = (select id from report)$$,
  $$values ('ready'::text, 0, 2)$$,
  'an update that does not change the content does not re-queue');
set local role postgres;
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' = (select id::text from report)$$,
  '... and queues no message');

set local role authenticated;
select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/report.pdf', '11111111-1111-4111-8111-111111111111', 'v2',
            '{"mimetype": "application/pdf", "size": 999, "eTag": "\"e2\""}')
    on conflict (name, bucket_id) do update set version = excluded.version, metadata = excluded.metadata$$,
  'the owner replaces the file (upsert, as the Storage API does)');
select results_eq(
  $$select id, status::text, generation, attempts, chunk_count, size_bytes, sha256, processed_at, embedder, embedding_dimensions
      from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf'$$,
  $$select id, 'queued'::text, 1, 0, 0, 999::bigint, null::text, null::timestamptz, null::text, null::integer from report$$,
  'the replaced file keeps its document, queued again in generation 1 with the new size and no processing results');
select is_empty($$select * from public.document_chunks where document_id = (select id from report)$$,
  'replacing the file drops the old chunks');

set local role postgres;
select results_eq(
  $$select message from pgmq.q_document_ingestion where message ->> 'document_id' = (select id::text from report)$$,
  $$select jsonb_build_object('kind', 'document', 'document_id', id, 'generation', 1, 'stage', 'extract', 'next_page', 1, 'next_chunk', 0)
      from report$$,
  'replacing the file queued one extract message of the new generation');

-- The worker has leased generation 1's message and started on it when the file is replaced again.
update pgmq.q_document_ingestion set read_ct = 1, vt = now() + interval '2 minutes'
 where message ->> 'document_id' = (select id::text from report);
update public.documents set status = 'processing', attempts = 1 where id = (select id from report);
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count)
select id, '11111111-1111-4111-8111-111111111111', 0, 'half-done chunk', 2 from report;

set local role authenticated;
select lives_ok(
  $$update storage.objects set version = 'v3', metadata = '{"mimetype": "application/pdf", "size": 1000, "eTag": "\"e3\""}'
     where name = '11111111-1111-4111-8111-111111111111/report.pdf'$$,
  'the owner replaces the file again while it is being processed');
set local role postgres;
select results_eq(
  $$select q.message ->> 'generation', q.message ->> 'stage', q.read_ct, q.vt <= clock_timestamp()
      from pgmq.q_document_ingestion q where q.message ->> 'document_id' = (select id::text from report)$$,
  $$values ('2'::text, 'extract'::text, 0, true)$$,
  'the second replacement drops the leased message of generation 1 and queues one visible message of generation 2');
select results_eq(
  $$select d.status::text, d.generation, d.attempts, d.size_bytes, (select count(*)::int from public.document_chunks c where c.document_id = d.id)
      from public.documents d where d.id = (select id from report)$$,
  $$values ('queued'::text, 2, 0, 1000::bigint, 0)$$,
  '... and the document is queued in generation 2 without the half-done chunks');
select is((select count(*)::int from net.http_request_queue), 1, 'the requeues found the worker''s request still pending and added none');

-- moving -------------------------------------------------------------------------------------------------------
set local role authenticated;
select results_eq(
  $$update storage.objects set name = '11111111-1111-4111-8111-111111111111/final.pdf'
     where name = '11111111-1111-4111-8111-111111111111/report.pdf' returning name$$,
  array['11111111-1111-4111-8111-111111111111/final.pdf'],
  'the owner renames the file');
select results_eq(
  $$select id, storage_path, name, status::text, generation from public.documents where id = (select id from report)$$,
  $$select id, '11111111-1111-4111-8111-111111111111/final.pdf'::text, 'final.pdf'::text, 'queued'::text, 2 from report$$,
  'renaming the file renames its document and keeps its state');
set local role postgres;
select is((select count(*)::int from pgmq.q_document_ingestion where message ->> 'document_id' = (select id::text from report)), 1,
  'renaming the file queues no new message');
set local role authenticated;
select throws_ok(
  $$update storage.objects set name = '11111111-1111-4111-8111-111111111111/archive/final.pdf'
     where name = '11111111-1111-4111-8111-111111111111/final.pdf'$$,
  'P0001', 'documents: files must be stored as {user_id}/{file name}', 'a file cannot be moved into a sub-folder');

set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
select throws_ok(
  $$update storage.objects set name = '22222222-2222-4222-8222-222222222222/final.pdf'
     where name = '11111111-1111-4111-8111-111111111111/final.pdf'$$,
  '42501', 'documents: files cannot move to another user''s folder', 'even the service role cannot move a file to another user');

set local role postgres;
create temporary table moved_out on commit drop as
  select id from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/a.txt';
set local role service_role;
select lives_ok(
  $$update storage.objects set bucket_id = 'scratch' where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/a.txt'$$,
  'the service role moves a file out of the bucket');
set local role postgres;
select is_empty($$select * from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/a.txt'$$,
  'a file moved out of the bucket loses its document');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' = (select id::text from moved_out)$$,
  '... and its queued message');
set local role service_role;
select lives_ok(
  $$update storage.objects set bucket_id = 'documents', name = '11111111-1111-4111-8111-111111111111/imported.txt',
           metadata = '{"mimetype": "text/plain", "size": 3, "eTag": "\"i\""}'
     where bucket_id = 'scratch' and name = 'anything/goes/here.txt'$$,
  'the service role moves a file into the bucket');
set local role postgres;
select results_eq(
  $$select d.name, d.status::text, q.message ->> 'stage', (q.message ->> 'generation')::int
      from public.documents d join pgmq.q_document_ingestion q on q.message ->> 'document_id' = d.id::text
     where d.storage_path = '11111111-1111-4111-8111-111111111111/imported.txt'$$,
  $$values ('imported.txt'::text, 'queued'::text, 'extract'::text, 0)$$,
  'a file moved into the bucket gets its document and one extract message');

-- deleting ------------------------------------------------------------------------------------------------------
update public.documents set status = 'ready', chunk_count = 1 where id = (select id from report);
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count)
select id, '11111111-1111-4111-8111-111111111111', 5, 'fresh chunk', 2 from report;
-- A second, leased message of the document (e.g. its embed stage) must go too.
select pgmq.send('document_ingestion', jsonb_build_object('kind', 'document', 'document_id', id, 'generation', 2,
  'stage', 'embed', 'next_page', 1, 'next_chunk', 0)) from report;

set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
set local storage.allow_delete_query to 'true';
select results_eq(
  $$delete from storage.objects where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/final.pdf' returning name$$,
  array['11111111-1111-4111-8111-111111111111/final.pdf'],
  'the owner deletes the file through the Storage API');
select is_empty($$select * from public.documents where id = (select id from report)$$,
  'deleting the file deletes its document');
set local role postgres;
select is_empty($$select * from public.document_chunks where document_id = (select id from report)$$,
  'deleting the file deletes its chunks');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' = (select id::text from report)$$,
  'deleting the file deletes its queued messages, of every stage');
select is_empty($$select * from pgmq.a_document_ingestion$$,
  '... deleted, not archived as failures');
select set_eq(
  $$select name from storage.objects where bucket_id = 'documents'$$,
  $$select storage_path from public.documents$$,
  'after uploads, failures, replacements, moves and deletes every file has its document and every document its file');
select set_eq(
  $$select message ->> 'document_id' from pgmq.q_document_ingestion$$,
  $$select id::text from public.documents$$,
  '... and every document exactly one queued message, and no message is left without its document');
select is((select count(*)::int from pgmq.q_document_ingestion), (select count(*)::int from public.documents),
  '(one message per document, not more)');

-- deleting a document row directly (the service role, a cascade) drops its messages too ---------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
select lives_ok($$delete from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/b.txt'$$,
  'the service role deletes a document row');
set local role postgres;
select is_empty(
  $$select * from pgmq.q_document_ingestion q
     where not exists (select 1 from public.documents d where d.id::text = q.message ->> 'document_id')$$,
  'a deleted document leaves no queued message behind (trigger on_document_deleted)');

-- without Vault's secrets nothing reaches pg_net ------------------------------------------------------------------
delete from net.http_request_queue;
delete from vault.secrets where name = 'worker_secret';
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/d.txt', 'v1', '{"mimetype": "text/plain", "size": 4, "eTag": "\"d\""}')$$,
  'the owner uploads while Vault has the project URL but no worker secret');
set local role postgres;
select is_empty($$select * from net.http_request_queue$$,
  'with only one of the two secrets no request is sent');
select is((select count(*)::int from pgmq.q_document_ingestion q join public.documents d on d.id::text = q.message ->> 'document_id'
            where d.storage_path = '11111111-1111-4111-8111-111111111111/d.txt'), 1,
  '... and the message waits in the queue');

-- the user's account is deleted ---------------------------------------------------------------------------------
delete from auth.users where id = '11111111-1111-4111-8111-111111111111';
select is_empty($$select * from public.documents where owner_id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting a user deletes their documents');
select results_eq($$select message ->> 'kind' from pgmq.q_document_ingestion$$, array['purge_user_files'],
  '... and their documents'' messages, leaving only the purge of their files');

select * from finish();
rollback;
