-- The job queue: claim takes due jobs oldest first, never one another worker holds or one waiting out its
-- backoff, and takes back jobs whose worker's lock expired; complete and fail count only for the worker that
-- holds the job; failures back off exponentially (capped at an hour) and end dead after max_attempts, marking
-- the document failed. Only the service role reaches the queue and the Stripe event log.
begin;
select plan(55);

insert into auth.users (id, email) values ('11111111-1111-4111-8111-111111111111', 'owner@example.com');
insert into public.documents (id, owner_id, storage_path, name, status) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/dies.txt', 'dies.txt', 'processing'),
  ('d2000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/hangs.txt', 'hangs.txt', 'processing');
-- One kind per scenario, so the scenarios cannot claim each other's jobs.
insert into private.jobs (id, kind, document_id, status, attempts, max_attempts, run_after, locked_by, locked_until)
overriding system value values
  (900001, 'pgtap_claim', null, 'queued', 0, 5, now() - interval '2 minutes', null, null),
  (900002, 'pgtap_claim', null, 'queued', 0, 5, now() - interval '1 minute', null, null),
  (900003, 'pgtap_claim', null, 'queued', 0, 5, now() + interval '1 hour', null, null),
  (900004, 'pgtap_claim', null, 'succeeded', 1, 5, now() - interval '1 hour', null, null),
  (900005, 'pgtap_claim', null, 'dead', 5, 5, now() - interval '1 hour', null, null),
  (900010, 'pgtap_retry', null, 'queued', 0, 3, now(), null, null),
  (900020, 'pgtap_dead', 'd1000000-0000-4000-8000-000000000001', 'queued', 1, 2, now() - interval '1 minute', null, null),
  (900030, 'pgtap_cap', null, 'queued', 11, 20, now() - interval '1 minute', null, null),
  (900040, 'pgtap_expired', null, 'running', 1, 5, now() - interval '10 minutes', 'dead-worker', now() - interval '1 second'),
  (900041, 'pgtap_expired', null, 'running', 1, 5, now() - interval '20 minutes', 'busy-worker', now() + interval '1 minute'),
  (900050, 'pgtap_exhausted', 'd2000000-0000-4000-8000-000000000002', 'running', 3, 3, now() - interval '10 minutes', 'gone-worker', now() - interval '1 second');

select matches(
  pg_get_functiondef('private.claim_jobs(text, text, integer, integer)'::regprocedure),
  'for update skip locked',
  'claim_jobs locks what it takes with FOR UPDATE SKIP LOCKED (concurrent claimers skip each other''s rows)');

-- claiming -----------------------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select results_eq(
  $$select id, status, attempts, locked_by, locked_until = now() + interval '300 seconds' from private.claim_jobs('pgtap_claim', 'worker-a')$$,
  $$values (900001::bigint, 'running'::text, 1, 'worker-a'::text, true)$$,
  'a claim takes the oldest due job, counts the attempt and locks it for 300 s by default');
select results_eq(
  $$select id, locked_by from private.claim_jobs('pgtap_claim', 'worker-b', 10)$$,
  $$values (900002::bigint, 'worker-b'::text)$$,
  'a second worker gets only the other due job: not the held one, not the future one, not finished ones');
select is_empty($$select * from private.claim_jobs('pgtap_claim', 'worker-c', 10)$$,
  'a third worker finds nothing to claim');
select results_eq(
  $$select id, locked_until = now() + interval '60 seconds' from private.claim_jobs('pgtap_retry', 'worker-r', 1, 60)$$,
  $$values (900010::bigint, true)$$,
  'a claim can choose its lock length; a job due exactly now is claimable');
select throws_ok($$select * from private.claim_jobs('pgtap_claim', 'worker-c', 0)$$,
  '22023', 'claim_jobs: batch must be between 1 and 100', 'a batch of 0 is rejected');
select throws_ok($$select * from private.claim_jobs('pgtap_claim', 'worker-c', 101)$$,
  '22023', 'claim_jobs: batch must be between 1 and 100', 'a batch over 100 is rejected');
select throws_ok($$select * from private.claim_jobs('pgtap_claim', 'worker-c', 1, 0)$$,
  '22023', 'claim_jobs: lock_seconds must be positive', 'a lock of 0 seconds is rejected');

-- completing ---------------------------------------------------------------------------------------------------
select is(private.complete_job(900001, 'worker-b'), false, 'a worker cannot complete a job another worker holds');
select results_eq($$select status, locked_by from private.jobs where id = 900001$$,
  $$values ('running'::text, 'worker-a'::text)$$, '... and the job stays with its holder');
select is(private.complete_job(900001, 'worker-a'), true, 'the holder completes its job');
select results_eq(
  $$select status, finished_at = now(), locked_until, last_error from private.jobs where id = 900001$$,
  $$values ('succeeded'::text, true, null::timestamptz, null::text)$$,
  'a completed job is succeeded, finished and unlocked');
select is(private.complete_job(900001, 'worker-a'), false, 'a finished job cannot be completed twice');
select is(private.complete_job(999999, 'worker-a'), false, 'completing an unknown job reports false');

-- failing and backing off ------------------------------------------------------------------------------------------
select is(private.fail_job(900002, 'worker-a', 'not mine'), null, 'a worker cannot fail a job another worker holds');
select is(private.fail_job(900002, 'worker-b', 'boom'), 'queued', 'the holder fails its job: back to the queue');
select results_eq(
  $$select status, attempts, run_after = now() + interval '20 seconds', last_error, locked_by, locked_until, finished_at
      from private.jobs where id = 900002$$,
  $$values ('queued'::text, 1, true, 'boom'::text, null::text, null::timestamptz, null::timestamptz)$$,
  'after the first failure the job waits 2^1 × 10 s and is unlocked');
select is_empty($$select * from private.claim_jobs('pgtap_claim', 'worker-c', 10)$$,
  'a job waiting out its backoff is not claimed');
select is(private.fail_job(900002, 'worker-b', 'again'), null, 'a job back in the queue cannot be failed again');

set local role postgres;
update private.jobs set run_after = now() - interval '1 second' where id = 900002;
set local role service_role;
select results_eq($$select id, attempts from private.claim_jobs('pgtap_claim', 'worker-c')$$,
  $$values (900002::bigint, 2)$$, 'once the backoff has passed the job is claimed again');
select is(private.fail_job(900002, 'worker-c', 'boom again'), 'queued', 'a second failure queues it again');
select ok((select run_after = now() + interval '40 seconds' from private.jobs where id = 900002),
  'the backoff doubles: 2^2 × 10 s after the second attempt');

select is(private.fail_job(900010, 'worker-r', repeat('x', 3000)), 'queued', 'a failure with a long error is recorded');
select is((select length(last_error) from private.jobs where id = 900010), 2000, 'errors are cut to 2000 characters');

select results_eq($$select id, attempts from private.claim_jobs('pgtap_cap', 'worker-x')$$,
  $$values (900030::bigint, 12)$$, 'a job on its 12th attempt is claimed');
select is(private.fail_job(900030, 'worker-x', 'slow'), 'queued', '... and fails');
select ok((select run_after = now() + interval '1 hour' from private.jobs where id = 900030),
  'the backoff is capped at one hour');

-- dead after max_attempts ------------------------------------------------------------------------------------------
select results_eq($$select id, attempts from private.claim_jobs('pgtap_dead', 'worker-d')$$,
  $$values (900020::bigint, 2)$$, 'a job is claimed for its last allowed attempt');
select is(private.fail_job(900020, 'worker-d', 'parse error'), 'dead', 'failing the last attempt makes the job dead');
select results_eq(
  $$select status, finished_at = now(), locked_until, last_error from private.jobs where id = 900020$$,
  $$values ('dead'::text, true, null::timestamptz, 'parse error'::text)$$,
  'a dead job is finished, unlocked and keeps its last error');
select results_eq(
  $$select status::text, error from public.documents where id = 'd1000000-0000-4000-8000-000000000001'$$,
  $$values ('failed'::text, 'parse error'::text)$$,
  'a dead job marks its document failed with the error');
select is_empty($$select * from private.claim_jobs('pgtap_dead', 'worker-d')$$, 'a dead job is never claimed again');

-- a worker died holding a job ---------------------------------------------------------------------------------------
select results_eq(
  $$select id, attempts, locked_by from private.claim_jobs('pgtap_expired', 'worker-e', 10)$$,
  $$values (900040::bigint, 2, 'worker-e'::text)$$,
  'a job whose lock expired is claimed again (and counts an attempt); a job still locked is not');
select is(private.complete_job(900040, 'dead-worker'), false, 'the worker that lost the lock cannot complete the job');
select is(private.fail_job(900040, 'dead-worker', 'late'), null, 'nor fail it');
select is(private.complete_job(900040, 'worker-e'), true, 'the new holder completes it');
select is((select locked_by from private.jobs where id = 900041), 'busy-worker', 'the still-locked job kept its worker');

select is_empty($$select * from private.claim_jobs('pgtap_exhausted', 'worker-f')$$,
  'an expired job with no attempts left is not handed out again');
select results_eq(
  $$select status, last_error, locked_until, finished_at = now() from private.jobs where id = 900050$$,
  $$values ('dead'::text, 'worker stopped responding'::text, null::timestamptz, true)$$,
  '... it is marked dead because its worker stopped responding');
select results_eq(
  $$select status::text, error from public.documents where id = 'd2000000-0000-4000-8000-000000000002'$$,
  $$values ('failed'::text, 'worker stopped responding'::text)$$,
  '... and its document failed');

-- Stripe events: one row per event id ---------------------------------------------------------------------------------
select lives_ok($$insert into private.stripe_events (id, type, payload) values ('evt_1', 'checkout.session.completed', '{}')$$,
  'the service role records a Stripe event');
select throws_ok($$insert into private.stripe_events (id, type, payload) values ('evt_1', 'checkout.session.completed', '{}')$$,
  '23505', 'duplicate key value violates unique constraint "stripe_events_pkey"', 'an event is recorded once');
select throws_ok($$insert into private.stripe_events (id, type, payload) values ('cus_1', 'x', '{}')$$,
  '23514', 'new row for relation "stripe_events" violates check constraint "stripe_events_id_check"', 'only Stripe event ids are accepted');

-- nobody else reaches the queue --------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select throws_ok($$select * from private.jobs$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot read the queue');
select throws_ok($$insert into private.jobs (kind) values ('process_document')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot enqueue jobs');
select throws_ok($$update private.jobs set status = 'succeeded'$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot change jobs');
select throws_ok($$select * from private.claim_jobs('pgtap_claim', 'me')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot claim jobs');
select throws_ok($$select private.complete_job(900002, 'worker-c')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot complete jobs');
select throws_ok($$select private.fail_job(900002, 'worker-c', 'x')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot fail jobs');
select throws_ok($$select * from private.stripe_events$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot read Stripe events');
select throws_ok($$insert into private.stripe_events (id, type, payload) values ('evt_2', 'x', '{}')$$,
  '42501', 'permission denied for schema private', 'a signed-in user cannot forge Stripe events');

set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from private.jobs$$,
  '42501', 'permission denied for schema private', 'anon cannot reach the queue');
select throws_ok($$select * from private.claim_jobs('pgtap_claim', 'me')$$,
  '42501', 'permission denied for schema private', 'anon cannot claim jobs');
select throws_ok($$select * from private.stripe_events$$,
  '42501', 'permission denied for schema private', 'anon cannot read Stripe events');

set local role postgres;
select results_eq(
  $$select id, status from private.jobs where kind = 'pgtap_claim' order by id$$,
  $$values (900001::bigint, 'succeeded'::text), (900002, 'queued'), (900003, 'queued'), (900004, 'succeeded'), (900005, 'dead')$$,
  'the denied calls changed no job');

select * from finish();
rollback;
