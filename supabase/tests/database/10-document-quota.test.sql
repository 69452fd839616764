-- A plan's max_documents holds on every way into bucket `documents`: a user may keep as many documents as their
-- plan allows, and the next upload fails whole with 42501 and a message naming the plan and its limit (no object,
-- no row, no message). The plan is that of an active (or trialing, or past_due) subscription, else free; a
-- canceled subscription falls back to free. Deleting a document frees a slot; replacing one takes none.
begin;
select plan(29);

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'free@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'pro@example.com'),
  ('33333333-3333-4333-8333-333333333333', 'canceled@example.com'),
  ('a0000000-0000-4000-8000-000000000001', 'trialing@example.com'),
  ('a0000000-0000-4000-8000-000000000002', 'past-due@example.com'),
  ('a0000000-0000-4000-8000-000000000003', 'incomplete@example.com'),
  ('a0000000-0000-4000-8000-000000000004', 'incomplete-expired@example.com'),
  ('a0000000-0000-4000-8000-000000000005', 'unpaid@example.com'),
  ('a0000000-0000-4000-8000-000000000006', 'paused@example.com');
insert into public.subscriptions (user_id, plan_id, status) values
  ('22222222-2222-4222-8222-222222222222', 'pro', 'active'),
  ('33333333-3333-4333-8333-333333333333', 'pro', 'canceled'),
  ('a0000000-0000-4000-8000-000000000001', 'pro', 'trialing'),
  ('a0000000-0000-4000-8000-000000000002', 'pro', 'past_due'),
  ('a0000000-0000-4000-8000-000000000003', 'pro', 'incomplete'),
  ('a0000000-0000-4000-8000-000000000004', 'pro', 'incomplete_expired'),
  ('a0000000-0000-4000-8000-000000000005', 'pro', 'unpaid'),
  ('a0000000-0000-4000-8000-000000000006', 'pro', 'paused');
insert into storage.buckets (id, name, public) values ('scratch', 'scratch', false);
insert into storage.objects (bucket_id, name, version) values ('scratch', 'incoming/import.txt', 'v1');

select results_eq(
  $$select id, name, max_documents from public.plans where id in ('free', 'pro') order by id$$,
  $$values ('free'::text, 'Free'::text, 20), ('pro'::text, 'Pro'::text, 1000)$$,
  'the free plan allows 20 documents and the pro plan 1000');
select results_eq(
  $$select s.status, (private.plan_for(s.user_id)).id from public.subscriptions s order by s.status$$,
  $$values ('active'::text, 'pro'::text), ('canceled', 'free'), ('incomplete', 'free'), ('incomplete_expired', 'free'),
           ('past_due', 'pro'), ('paused', 'free'), ('trialing', 'pro'), ('unpaid', 'free')$$,
  'a subscription gives its plan while active, trialing or past_due (Stripe retrying); otherwise the user is on free');
select is((private.plan_for('11111111-1111-4111-8111-111111111111')).id, 'free', 'a user without a subscription is on free');
select matches(pg_get_functiondef('private.enforce_document_quota()'::regprocedure), 'pg_advisory_xact_lock',
  'the count-then-insert is serialised per user by a transaction advisory lock (two racing uploads cannot both take the last slot)');

-- a free user fills their plan --------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    select 'documents', '11111111-1111-4111-8111-111111111111/file-' || i || '.txt', 'v1', '{"mimetype": "text/plain", "size": 1}'
      from generate_series(1, (select max_documents from public.plans where id = 'free')) i$$,
  'a free user uploads as many documents as the free plan allows');
select is((select count(*)::int from public.documents), 20, '... and holds 20 documents');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/one-too-many.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  'the next upload is refused with the plan and its limit');

set local role postgres;
select results_eq(
  $$select (select count(*)::int from storage.objects o where o.bucket_id = 'documents' and o.name like '11111111-1111-4111-8111-111111111111/%'),
           (select count(*)::int from public.documents d where d.owner_id = '11111111-1111-4111-8111-111111111111'),
           (select count(*)::int from pgmq.q_document_ingestion q join public.documents d on d.id::text = q.message ->> 'document_id'
             where d.owner_id = '11111111-1111-4111-8111-111111111111'),
           (select count(*)::int from pgmq.q_document_ingestion)$$,
  $$values (20, 20, 20, 20)$$,
  'the refused upload left no object, no document and no message');

set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/by-server.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  'the limit holds for uploads made with the service role too');
select throws_ok(
  $$update storage.objects set bucket_id = 'documents', name = '11111111-1111-4111-8111-111111111111/import.txt'
     where bucket_id = 'scratch' and name = 'incoming/import.txt'$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  'and for a file moved into the bucket');

set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/file-1.txt', 'v2', '{"mimetype": "text/plain", "size": 2, "eTag": "\"v2\""}')
    on conflict (name, bucket_id) do update set version = excluded.version, metadata = excluded.metadata$$,
  'a user at the limit may still replace one of their files');
select is((select count(*)::int from public.documents), 20, '... which is no new document');

set local storage.allow_delete_query to 'true';
select results_eq(
  $$delete from storage.objects where bucket_id = 'documents' and name = '11111111-1111-4111-8111-111111111111/file-20.txt' returning name$$,
  array['11111111-1111-4111-8111-111111111111/file-20.txt'],
  'the user deletes one document');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/replacement.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  'deleting a document frees a slot for the next upload');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '11111111-1111-4111-8111-111111111111/one-more.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  '... one slot only');
select results_eq(
  $$select count(*)::int, count(*) filter (where name = 'replacement.txt')::int, count(*) filter (where name = 'file-20.txt')::int from public.documents$$,
  $$values (20, 1, 0)$$,
  'the user holds 20 documents again, the new one in the freed slot');

-- an active pro subscriber gets the pro limit -------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    select 'documents', '22222222-2222-4222-8222-222222222222/file-' || i || '.txt', 'v1', '{"mimetype": "text/plain", "size": 1}'
      from generate_series(1, (select max_documents from public.plans where id = 'free') + 1) i$$,
  'an active pro subscriber uploads more documents than the free plan allows');
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    select 'documents', '22222222-2222-4222-8222-222222222222/more-' || i || '.txt', 'v1', '{"mimetype": "text/plain", "size": 1}'
      from generate_series(1, (select max_documents from public.plans where id = 'pro') - (select max_documents from public.plans where id = 'free') - 1) i$$,
  '... up to the pro plan''s limit');
select is((select count(*)::int from public.documents), 1000, '... and holds 1000 documents');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '22222222-2222-4222-8222-222222222222/one-too-many.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Pro plan allows 1000 documents; delete one or upgrade to add more',
  'the next upload is refused with the Pro plan and its limit');
set local role postgres;
select is_empty($$select * from storage.objects where name = '22222222-2222-4222-8222-222222222222/one-too-many.txt'$$,
  '... leaving no object behind');

-- a canceled subscription falls back to free ------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "33333333-3333-4333-8333-333333333333", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    select 'documents', '33333333-3333-4333-8333-333333333333/file-' || i || '.txt', 'v1', '{"mimetype": "text/plain", "size": 1}'
      from generate_series(1, (select max_documents from public.plans where id = 'free')) i$$,
  'a user whose pro subscription was canceled uploads up to the free limit');
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '33333333-3333-4333-8333-333333333333/one-too-many.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  '... and no further: a canceled subscription is the free plan');

-- the subscription changes: the limit follows ---------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
update public.subscriptions set status = 'active' where user_id = '33333333-3333-4333-8333-333333333333';
set local role authenticated;
set local request.jwt.claims to '{"sub": "33333333-3333-4333-8333-333333333333", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '33333333-3333-4333-8333-333333333333/after-renewal.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  'once the subscription is active again the pro limit applies at once');

set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
update public.subscriptions set status = 'canceled' where user_id = '22222222-2222-4222-8222-222222222222';
set local role authenticated;
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';
select throws_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', '22222222-2222-4222-8222-222222222222/after-cancel.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  '42501', 'documents: the Free plan allows 20 documents; delete one or upgrade to add more',
  'a subscriber who cancels keeps their documents but cannot add more beyond the free limit');
select is((select count(*)::int from public.documents), 1000, '... none of their documents was removed');

-- other users are not held up by someone else's count -------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "a0000000-0000-4000-8000-000000000003", "role": "authenticated"}';
select lives_ok(
  $$insert into storage.objects (bucket_id, name, version, metadata)
    values ('documents', 'a0000000-0000-4000-8000-000000000003/first.txt', 'v1', '{"mimetype": "text/plain", "size": 1}')$$,
  'the quota counts per user: another user uploads while others are at their limit');

set local role postgres;
select results_eq(
  $$select d.owner_id, count(*)::int from public.documents d group by d.owner_id order by d.owner_id$$,
  $$values ('11111111-1111-4111-8111-111111111111'::uuid, 20), ('22222222-2222-4222-8222-222222222222'::uuid, 1000),
           ('33333333-3333-4333-8333-333333333333'::uuid, 21), ('a0000000-0000-4000-8000-000000000003'::uuid, 1)$$,
  'in the end every user holds exactly what their plan let them add');
select is(
  (select count(*)::int from storage.objects where bucket_id = 'documents'),
  (select count(*)::int from public.documents),
  'and every refused upload left no object behind');

select * from finish();
rollback;
