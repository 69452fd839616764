-- Bucket `documents` is private and each user keeps files only in their own folder `{auth.uid()}/…`:
-- the owner reads, uploads, replaces, moves within and deletes their files; a stranger and anon can do
-- none of that; the service role can do all of it. The policies apply to this bucket only.
begin;
select plan(36);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com');
insert into storage.buckets (id, name, public) values ('avatars', 'avatars', false);
insert into storage.objects (bucket_id, name, owner_id, version, metadata) values
  ('documents', '11111111-1111-4111-8111-111111111111/notes.txt', '11111111-1111-4111-8111-111111111111', 'v1',
   '{"mimetype": "text/plain", "size": 5, "eTag": "\"e1\""}'),
  ('documents', '22222222-2222-4222-8222-222222222222/secret.txt', '22222222-2222-4222-8222-222222222222', 'v1',
   '{"mimetype": "text/plain", "size": 6, "eTag": "\"e2\""}');

select results_eq(
  $$select public, file_size_limit, 'application/pdf' = any(allowed_mime_types) from storage.buckets where id = 'documents'$$,
  $$values (false, 52428800::bigint, true)$$,
  'bucket documents is private, limited to 50 MiB and to document MIME types');
select policies_are('storage', 'objects',
  array['documents_objects_select_authenticated_own', 'documents_objects_insert_authenticated_own',
        'documents_objects_update_authenticated_own', 'documents_objects_delete_authenticated_own'],
  'storage.objects has exactly the four owner-folder policies of bucket documents');

-- owner -----------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq($$select name from storage.objects where bucket_id = 'documents'$$,
  array['11111111-1111-4111-8111-111111111111/notes.txt'],
  'the owner lists only the files in their folder');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/report.pdf', '11111111-1111-4111-8111-111111111111', 'v1', '{"mimetype": "application/pdf", "size": 10, "eTag": "\"e3\""}')$$,
  'the owner uploads into their own folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', '22222222-2222-4222-8222-222222222222/planted.txt', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'the owner cannot upload into another user''s folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', 'loose.txt', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'the owner cannot upload outside any folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('avatars', '11111111-1111-4111-8111-111111111111/me.png', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'the documents policies grant nothing in another bucket');
select results_eq(
  $$update storage.objects set version = 'v2', metadata = '{"mimetype": "text/plain", "size": 7, "eTag": "\"e4\""}'
     where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/notes.txt' returning version$$,
  array['v2'],
  'the owner replaces their own file');
select throws_ok(
  $$update storage.objects set name = '22222222-2222-4222-8222-222222222222/notes.txt'
     where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/notes.txt'$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'the owner cannot move a file into another user''s folder');
select throws_ok(
  $$delete from storage.objects where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/notes.txt'$$,
  '42501', 'Direct deletion from storage tables is not allowed. Use the Storage API instead.',
  'a plain SQL delete is refused unless made through the Storage API');

-- stranger --------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';
set local storage.allow_delete_query to 'true';

select results_eq($$select name from storage.objects where bucket_id = 'documents'$$,
  array['22222222-2222-4222-8222-222222222222/secret.txt'],
  'a stranger lists only their own files');
select is_empty($$select * from storage.objects where name = '11111111-1111-4111-8111-111111111111/notes.txt'$$,
  'a stranger cannot read the owner''s file');
select is_empty(
  $$update storage.objects set version = 'evil', metadata = '{}' where name = '11111111-1111-4111-8111-111111111111/notes.txt' returning id$$,
  'a stranger''s overwrite of the owner''s file touches no row');
select is_empty(
  $$update storage.objects set name = '22222222-2222-4222-8222-222222222222/stolen.txt' where name = '11111111-1111-4111-8111-111111111111/notes.txt' returning id$$,
  'a stranger cannot move the owner''s file into their folder');
select is_empty($$delete from storage.objects where name = '11111111-1111-4111-8111-111111111111/notes.txt' returning id$$,
  'a stranger''s delete of the owner''s file touches no row');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', '11111111-1111-4111-8111-111111111111/notes.txt', 'v9')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'a stranger cannot upload into the owner''s folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', '11111111-1111-4111-8111-111111111111/notes.txt', 'v9')
    on conflict (name, bucket_id) do update set version = excluded.version$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'a stranger cannot upsert over the owner''s file');

-- anon ------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select is_empty($$select * from storage.objects where bucket_id = 'documents'$$,
  'anon lists no file in bucket documents');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', '11111111-1111-4111-8111-111111111111/anon.txt', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'anon cannot upload into a user''s folder');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('documents', 'anon.txt', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'anon cannot upload anywhere in the bucket');
select is_empty($$update storage.objects set version = 'evil' where bucket_id = 'documents' returning id$$,
  'anon''s update touches no file');
select is_empty($$delete from storage.objects where bucket_id = 'documents' returning id$$,
  'anon''s delete touches no file');

set local role postgres;
select results_eq(
  $$select name, version from storage.objects where bucket_id = 'documents' order by name$$,
  $$values ('11111111-1111-4111-8111-111111111111/notes.txt'::text, 'v2'::text),
           ('11111111-1111-4111-8111-111111111111/report.pdf', 'v1'),
           ('22222222-2222-4222-8222-222222222222/secret.txt', 'v1')$$,
  'after the stranger''s and anon''s attempts every file is where and what its owner left it');

-- owner moves and deletes ---------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$update storage.objects set name = '11111111-1111-4111-8111-111111111111/renamed.txt'
     where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/notes.txt' returning name$$,
  array['11111111-1111-4111-8111-111111111111/renamed.txt'],
  'the owner renames a file within their folder');
select results_eq(
  $$delete from storage.objects where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/renamed.txt' returning name$$,
  array['11111111-1111-4111-8111-111111111111/renamed.txt'],
  'the owner deletes their own file through the Storage API');
select results_eq($$select name from storage.objects where bucket_id = 'documents'$$,
  array['11111111-1111-4111-8111-111111111111/report.pdf'],
  'the owner''s remaining file is still listed');

-- service role -----------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select is((select count(*)::int from storage.objects where bucket_id = 'documents'), 2,
  'the service role lists every user''s files');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, owner_id, version, metadata)
    values ('documents', '22222222-2222-4222-8222-222222222222/by-server.txt', null, 'v1', '{"mimetype": "text/plain", "size": 1, "eTag": "\"e5\""}')$$,
  'the service role uploads into any user''s folder');
select results_eq(
  $$update storage.objects set version = 'v3', metadata = '{"mimetype": "text/plain", "size": 2, "eTag": "\"e6\""}'
     where name = '22222222-2222-4222-8222-222222222222/secret.txt' returning version$$,
  array['v3'],
  'the service role replaces any user''s file');
select results_eq($$delete from storage.objects where name = '22222222-2222-4222-8222-222222222222/by-server.txt' returning name$$,
  array['22222222-2222-4222-8222-222222222222/by-server.txt'],
  'the service role deletes any user''s file');

-- every object in the bucket has its document, and only those ------------------------------------------
set local role postgres;
select set_eq(
  $$select name from storage.objects where bucket_id = 'documents'$$,
  $$select storage_path from public.documents where bucket_id = 'documents'$$,
  'every file in bucket documents has exactly one document row and every row its file');

-- the policies are scoped to bucket documents ------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version) values ('avatars', 'a.png', 'v1')$$,
  '42501', 'new row violates row-level security policy for table "objects"', 'anon cannot upload into another bucket either (no policy there)');

set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select is_empty($$select * from storage.objects where bucket_id = 'avatars'$$,
  'the owner-folder policies grant no read in another bucket');
select isnt_empty($$select * from storage.objects where bucket_id = 'documents'$$,
  'the owner still reads their own folder');

set local role postgres;
select is_empty($$select * from storage.objects where bucket_id = 'documents' and name like '%/renamed.txt'$$,
  'the deleted file is gone');
select is_empty($$select * from public.documents where storage_path like '%/renamed.txt' or storage_path like '%/notes.txt'$$,
  'the deleted file''s document is gone');

select * from finish();
rollback;
