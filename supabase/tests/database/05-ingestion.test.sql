-- Every object in bucket `documents` has exactly one `documents` row, created with one queued
-- `process_document` job in the same transaction as the object; a bad path or someone else's chat makes the
-- upload fail and leaves nothing; replacing the file re-queues it and drops its chunks; moving renames it;
-- deleting it (or moving it out of the bucket) removes the row, its chunks and its jobs.
begin;
select plan(40);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into public.chats (id, owner_id, title) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner chat'),
  ('c2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Stranger chat');
insert into storage.buckets (id, name, public) values ('scratch', 'scratch', false);

-- upload as the owner (what storage-js does through the Storage API) --------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata, user_metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/report.pdf', '11111111-1111-4111-8111-111111111111', 'v1',
            '{"mimetype": "application/pdf", "size": 1234, "eTag": "\"e1\""}', '{"chat_id": "c1000000-0000-4000-8000-000000000001"}')$$,
  'the owner uploads a file into a chat');
select results_eq(
  $$select owner_id, storage_path, name, mime_type, size_bytes, chat_id, status::text, chunk_count from public.documents$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, '11111111-1111-4111-8111-111111111111/report.pdf'::text, 'report.pdf'::text,
            'application/pdf'::text, 1234::bigint, 'c1000000-0000-4000-8000-000000000001'::uuid, 'queued'::text, 0)$$,
  'the upload created its document row, queued, before the statement returned');

set local role postgres;
select results_eq(
  $$select j.kind, j.status, j.attempts, j.payload = jsonb_build_object('document_id', d.id)
      from private.jobs j join public.documents d on d.id = j.document_id$$,
  $$values ('process_document'::text, 'queued'::text, 0, true)$$,
  'the upload queued exactly one process_document job for that document');

set local role authenticated;
select throws_ok(
  $$with o as (
      insert into storage.objects (bucket_id, name, version, metadata)
      values ('documents', '11111111-1111-4111-8111-111111111111/doomed.txt', 'v1', '{"mimetype": "text/plain", "size": 1, "eTag": "\"d\""}')
      returning id)
    select 1 / 0 from o$$,
  '22012', 'division by zero', 'an upload whose statement fails after the insert is undone whole (checked below)');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata) values
      ('documents', '11111111-1111-4111-8111-111111111111/a.txt', 'v1', '{"mimetype": "text/plain", "size": 1, "eTag": "\"a\""}'),
      ('documents', '11111111-1111-4111-8111-111111111111/b.txt', 'v1', '{"mimetype": "text/plain", "size": 2, "eTag": "\"b\""}')$$,
  'the owner uploads two files in one statement');

-- bad uploads leave nothing ----------------------------------------------------------------------------------
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
  array['11111111-1111-4111-8111-111111111111/a.txt', '11111111-1111-4111-8111-111111111111/b.txt', '11111111-1111-4111-8111-111111111111/report.pdf'],
  '... and the failed uploads left no object behind');
select results_eq(
  $$select d.storage_path, count(j.id)::int from public.documents d left join private.jobs j on j.document_id = d.id
     group by d.storage_path order by d.storage_path$$,
  $$values ('11111111-1111-4111-8111-111111111111/a.txt'::text, 1),
           ('11111111-1111-4111-8111-111111111111/b.txt', 1),
           ('11111111-1111-4111-8111-111111111111/report.pdf', 1)$$,
  'exactly one document and one job per stored object, none for the failed uploads or other buckets');
select is((select count(*)::int from private.jobs), 3, 'no job exists without its document');

-- the worker finished report.pdf; then the owner touches and replaces it -------------------------------------
update public.documents
   set status = 'ready', chunk_count = 2, processed_at = now(), sha256 = repeat('a', 64)
 where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf';
update private.jobs set status = 'succeeded', finished_at = now()
 where document_id = (select id from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf');
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
  $$select status::text, chunk_count from public.documents where id = (select id from report)$$,
  $$values ('ready'::text, 2)$$,
  'an update that does not change the content does not re-queue');

select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/report.pdf', '11111111-1111-4111-8111-111111111111', 'v2',
            '{"mimetype": "application/pdf", "size": 999, "eTag": "\"e2\""}')
    on conflict (name, bucket_id) do update set version = excluded.version, metadata = excluded.metadata$$,
  'the owner replaces the file (upsert, as the Storage API does)');
select results_eq(
  $$select id, status::text, chunk_count, size_bytes, sha256, processed_at from public.documents
     where storage_path = '11111111-1111-4111-8111-111111111111/report.pdf'$$,
  $$select id, 'queued'::text, 0, 999::bigint, null::text, null::timestamptz from report$$,
  'the replaced file keeps its document, queued again with the new size and no processing results');
select is_empty($$select * from public.document_chunks where document_id = (select id from report)$$,
  'replacing the file drops the old chunks');

set local role postgres;
select results_eq(
  $$select status, count(*)::int from private.jobs where document_id = (select id from report) group by status order by status$$,
  $$values ('queued'::text, 1), ('succeeded'::text, 1)$$,
  'replacing the file queued one new job and kept the finished one as history');

set local role authenticated;
select lives_ok(
  $$update storage.objects set version = 'v3', metadata = '{"mimetype": "application/pdf", "size": 1000, "eTag": "\"e3\""}'
     where name = '11111111-1111-4111-8111-111111111111/report.pdf'$$,
  'the owner replaces the file again before it was processed');
set local role postgres;
select results_eq(
  $$select status, count(*)::int from private.jobs where document_id = (select id from report) group by status order by status$$,
  $$values ('queued'::text, 1), ('succeeded'::text, 1)$$,
  'a second replacement does not queue a second job');

-- moving -------------------------------------------------------------------------------------------------------
set local role authenticated;
select results_eq(
  $$update storage.objects set name = '11111111-1111-4111-8111-111111111111/final.pdf'
     where name = '11111111-1111-4111-8111-111111111111/report.pdf' returning name$$,
  array['11111111-1111-4111-8111-111111111111/final.pdf'],
  'the owner renames the file');
select results_eq(
  $$select id, storage_path, name, status::text from public.documents where id = (select id from report)$$,
  $$select id, '11111111-1111-4111-8111-111111111111/final.pdf'::text, 'final.pdf'::text, 'queued'::text from report$$,
  'renaming the file renames its document and keeps its state');
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
select lives_ok(
  $$update storage.objects set bucket_id = 'scratch' where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/a.txt'$$,
  'the service role moves a file out of the bucket');
select is_empty($$select * from public.documents where storage_path = '11111111-1111-4111-8111-111111111111/a.txt'$$,
  'a file moved out of the bucket loses its document');
select lives_ok(
  $$update storage.objects set bucket_id = 'documents', name = '11111111-1111-4111-8111-111111111111/imported.txt',
           metadata = '{"mimetype": "text/plain", "size": 3, "eTag": "\"i\""}'
     where bucket_id = 'scratch' and name = 'anything/goes/here.txt'$$,
  'the service role moves a file into the bucket');
select results_eq(
  $$select d.name, d.status::text, count(j.id)::int from public.documents d join private.jobs j on j.document_id = d.id
     where d.storage_path = '11111111-1111-4111-8111-111111111111/imported.txt' group by d.name, d.status$$,
  $$values ('imported.txt'::text, 'queued'::text, 1)$$,
  'a file moved into the bucket gets its document and one job');

-- deleting ------------------------------------------------------------------------------------------------------
set local role postgres;
update public.documents set status = 'ready', chunk_count = 1 where id = (select id from report);
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count)
select id, '11111111-1111-4111-8111-111111111111', 5, 'fresh chunk', 2 from report;

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
select is_empty($$select * from private.jobs where document_id = (select id from report)$$,
  'deleting the file deletes its jobs, finished or not');
select set_eq(
  $$select name from storage.objects where bucket_id = 'documents'$$,
  $$select storage_path from public.documents$$,
  'after uploads, failures, replacements, moves and deletes every file has its document and every document its file');
select is_empty(
  $$select * from private.jobs j where j.kind = 'process_document' and j.status = 'queued'
       and not exists (select 1 from public.documents d where d.id = j.document_id)$$,
  'no queued job is left without its document');

-- the user's account is deleted ---------------------------------------------------------------------------------
delete from auth.users where id = '11111111-1111-4111-8111-111111111111';
select is_empty($$select * from public.documents where owner_id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting a user deletes their documents');
select is_empty($$select * from private.jobs$$,
  'and their jobs');

select * from finish();
rollback;
