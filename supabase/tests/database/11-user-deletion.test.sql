-- Deleting a user (the Auth admin API, the dashboard, SQL as postgres: the auth.users row goes) removes their
-- documents, chunks, queued document work, chats and messages by cascade and, in the same transaction, queues
-- exactly one `purge_user_files` message so the worker removes their files from Storage. Other users keep
-- everything; a deletion that fails queues nothing.
begin;
select plan(16);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'leaving@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'staying@example.com'),
  ('33333333-3333-4333-8333-333333333333', 'also-leaving@example.com');
insert into public.chats (id, owner_id, title) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Leaving chat'),
  ('c2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Staying chat');
insert into public.chat_messages (chat_id, owner_id, role, content) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'user', 'bye'),
  ('c2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'user', 'hello');
insert into public.subscriptions (user_id, plan_id, status) values ('11111111-1111-4111-8111-111111111111', 'pro', 'active');
insert into public.user_daily_usage (user_id, daily_requests_count) values
  ('11111111-1111-4111-8111-111111111111', 3), ('22222222-2222-4222-8222-222222222222', 4);
-- Uploads through Storage: each creates its document and its queued extract message.
insert into storage.objects (bucket_id, name, version, metadata, user_metadata) values
  ('documents', '11111111-1111-4111-8111-111111111111/mine.pdf', 'v1', '{"mimetype": "application/pdf", "size": 10}', '{"chat_id": "c1000000-0000-4000-8000-000000000001"}'),
  ('documents', '11111111-1111-4111-8111-111111111111/notes.txt', 'v1', '{"mimetype": "text/plain", "size": 5}', '{}'),
  ('documents', '22222222-2222-4222-8222-222222222222/theirs.txt', 'v1', '{"mimetype": "text/plain", "size": 6}', '{}');
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count)
select d.id, d.owner_id, 0, d.name || ' chunk', 2 from public.documents d;
create temporary table leaving_documents on commit drop as
  select id from public.documents where owner_id = '11111111-1111-4111-8111-111111111111';

select is((select count(*)::int from pgmq.q_document_ingestion), 3, '(each upload queued its extract message)');

select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files'$$,
  'no purge is queued before a user is deleted');

-- the Auth admin API deletes the user (the row goes, as postgres: the stack's Auth does it so, like the dashboard) ------
select lives_ok($$delete from auth.users where id = '11111111-1111-4111-8111-111111111111'$$,
  'deleting the auth.users row succeeds');

select is_empty($$select * from public.documents where owner_id = '11111111-1111-4111-8111-111111111111'$$,
  'the user''s documents are deleted');
select is_empty($$select * from public.document_chunks where owner_id = '11111111-1111-4111-8111-111111111111'
                   or document_id in (select id from leaving_documents)$$,
  'their chunks are deleted');
select is_empty($$select * from public.chats where owner_id = '11111111-1111-4111-8111-111111111111'$$,
  'their chats are deleted');
select is_empty($$select * from public.chat_messages where owner_id = '11111111-1111-4111-8111-111111111111'$$,
  'their chat messages are deleted');
select results_eq(
  $$select (select count(*)::int from public.subscriptions where user_id = '11111111-1111-4111-8111-111111111111'),
           (select count(*)::int from public.user_daily_usage where user_id = '11111111-1111-4111-8111-111111111111')$$,
  $$values (0, 0)$$,
  'their subscription and usage are deleted');
select is_empty($$select * from pgmq.q_document_ingestion where message ->> 'document_id' in (select id::text from leaving_documents)$$,
  'their documents'' queued messages are deleted');
select results_eq(
  $$select message, read_ct, vt <= clock_timestamp() from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files'$$,
  $$values ('{"kind": "purge_user_files", "user_id": "11111111-1111-4111-8111-111111111111"}'::jsonb, 0, true)$$,
  'exactly one purge_user_files message for the user is queued, visible at once');
select results_eq(
  $$select name from storage.objects where bucket_id = 'documents' order by name$$,
  array['11111111-1111-4111-8111-111111111111/mine.pdf', '11111111-1111-4111-8111-111111111111/notes.txt',
        '22222222-2222-4222-8222-222222222222/theirs.txt'],
  'the files themselves wait for the worker (Storage objects are removed through the Storage API)');

select results_eq(
  $$select (select count(*)::int from public.documents where owner_id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from public.document_chunks where owner_id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from public.chats where owner_id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from public.chat_messages where owner_id = '22222222-2222-4222-8222-222222222222'),
           (select daily_requests_count from public.user_daily_usage where user_id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from pgmq.q_document_ingestion q join public.documents d on d.id::text = q.message ->> 'document_id'
             where d.owner_id = '22222222-2222-4222-8222-222222222222')$$,
  $$values (1, 1, 1, 1, 4, 1)$$,
  'the other user keeps their document, chunk, chat, message, usage and queued work');

-- a deletion that fails queues nothing; a user without documents still gets their purge ------------------------------
select throws_ok(
  $$with gone as (delete from auth.users where id = '22222222-2222-4222-8222-222222222222' returning id) select 1 / 0 from gone$$,
  '22012', 'division by zero', 'a user deletion whose statement fails is undone whole');
select results_eq(
  $$select (select count(*)::int from auth.users where id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from public.documents where owner_id = '22222222-2222-4222-8222-222222222222'),
           (select count(*)::int from pgmq.q_document_ingestion where message ->> 'user_id' = '22222222-2222-4222-8222-222222222222')$$,
  $$values (1, 1, 0)$$,
  '... the user and their document are still there and no purge was queued for them');

select lives_ok($$delete from auth.users where id = '33333333-3333-4333-8333-333333333333'$$,
  'a user who stored nothing is deleted too');
select results_eq(
  $$select message ->> 'user_id' from pgmq.q_document_ingestion where message ->> 'kind' = 'purge_user_files' order by msg_id$$,
  array['11111111-1111-4111-8111-111111111111', '33333333-3333-4333-8333-333333333333'],
  'one purge message per deleted user, even one who stored nothing');

select * from finish();
rollback;
