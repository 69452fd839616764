-- match_document_chunks: hybrid retrieval over the caller's own chunks. The vector part ranks by pgvector cosine
-- distance (an exact scan when the caller has under 5,000 searchable chunks, HNSW with iterative scan otherwise),
-- the text part by English full-text search on the generated `fts` column; the two are fused by reciprocal rank
-- (score = Σ 1 / (rrf_k + rank)). Row-level security keeps both parts to the caller's chunks; `embedder` keeps
-- another model's vectors out of the vector part, `document_ids` and `chat_id` narrow what is searched.
begin;
select plan(33);

-- A 384-dimension vector from its first three components (the rest 0): cosines are easy to read off.
create function pg_temp.vec(x real, y real, z real) returns extensions.vector
language sql immutable as $$ select (array[x, y, z] || array_fill(0::real, array[381]))::extensions.vector $$;
-- The plan Postgres picks for a query, as the calling role (to show the large-table case walks the HNSW index).
create function pg_temp.plan_of(query text) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain (costs off) ' || query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end
$$;

insert into auth.users (id, email) values
  ('11111111-1111-4111-8111-111111111111', 'owner@example.com'),
  ('22222222-2222-4222-8222-222222222222', 'stranger@example.com'),
  ('33333333-3333-4333-8333-333333333333', 'big@example.com'),
  ('44444444-4444-4444-8444-444444444444', 'small@example.com');
insert into public.chats (id, owner_id, title) values
  ('c1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 'Owner chat'),
  ('c2000000-0000-4000-8000-000000000002', '22222222-2222-4222-8222-222222222222', 'Stranger chat');
insert into public.documents (id, owner_id, storage_path, name, chat_id, status, chunk_count, embedder, embedding_dimensions) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/manual.pdf', 'manual.pdf', 'c1000000-0000-4000-8000-000000000001', 'ready', 2, 'gte-small', 384),
  ('d2000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/faq.txt', 'faq.txt', null, 'ready', 1, 'gte-small', 384),
  ('d3000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/legacy.txt', 'legacy.txt', null, 'ready', 1, 'old-model', 384),
  ('d4000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', '11111111-1111-4111-8111-111111111111/draft.txt', 'draft.txt', 'c1000000-0000-4000-8000-000000000001', 'processing', 2, null, null),
  ('d5000000-0000-4000-8000-000000000005', '22222222-2222-4222-8222-222222222222', '22222222-2222-4222-8222-222222222222/secret.pdf', 'secret.pdf', 'c2000000-0000-4000-8000-000000000002', 'ready', 1, 'gte-small', 384);
-- The query vector below is (1, 0, 0). Inserted in this order, so ids (the tie-break) ascend down the list.
-- The stranger's chunk is the best match both ways: the owner's text word for word, and exactly the query vector.
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding) values
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 0, 'The warranty covers the battery for two years.', 9, pg_temp.vec(0.8, 0.6, 0)),
  ('d1000000-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111', 1, 'Returns are accepted within thirty days.', 7, pg_temp.vec(0.96, 0.28, 0)),
  ('d2000000-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 0, 'Shipping is free on orders over fifty dollars.', 9, pg_temp.vec(0.6, 0.8, 0)),
  ('d3000000-0000-4000-8000-000000000003', '11111111-1111-4111-8111-111111111111', 0, 'Warranty terms of the previous model.', 6, pg_temp.vec(1, 0, 0)),
  ('d4000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', 0, 'Extended warranties are being drafted.', 6, null),
  ('d4000000-0000-4000-8000-000000000004', '11111111-1111-4111-8111-111111111111', 1, 'The universities agreed to share their data.', 8, null),
  ('d5000000-0000-4000-8000-000000000005', '22222222-2222-4222-8222-222222222222', 0, 'The warranty covers the battery for two years.', 9, pg_temp.vec(1, 0, 0));

-- anon ------------------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery')$$,
  '42501', 'permission denied for function match_document_chunks', 'anon cannot search');

-- owner: fusion, scores and isolation --------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

-- Vector part (gte-small documents): returns 0.96 (1), warranty 0.8 (2), shipping 0.6 (3).
-- Text part: warranty + battery (1), legacy "warranty" (2), draft "warranties" (3).
select results_eq(
  $$select document_name, chunk_index, score
      from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', embedder => 'gte-small', rrf_k => 3)$$,
  $$values ('manual.pdf'::text, 0, 0.45::float8), ('manual.pdf', 1, 0.25), ('legacy.txt', 0, 0.2),
           ('faq.txt', 0, (1.0 / 6)::float8), ('draft.txt', 0, (1.0 / 6)::float8)$$,
  'the chunk matching by vector and by words ranks first (1/(3+2) + 1/(3+1)), above the closest vector (1/(3+1)) and the best word-only match (1/(3+2)); the stranger''s closer chunk took no rank in either part');
select results_eq(
  $$select document_name, chunk_index, score
      from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', rrf_k => 3,
        document_ids => array['d1000000-0000-4000-8000-000000000001', 'd5000000-0000-4000-8000-000000000005']::uuid[])$$,
  $$values ('manual.pdf'::text, 0, 0.45::float8), ('manual.pdf', 1, 0.25)$$,
  'naming the stranger''s document in document_ids adds nothing of theirs: the owner''s chunks keep vector ranks 1–2 and text rank 1');
select is_empty(
  $$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', 50, candidates => 200)
     where document_id not in (select id from public.documents where owner_id = '11111111-1111-4111-8111-111111111111')$$,
  'the owner''s widest search returns none of the stranger''s chunks');
select is_empty(
  $$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery',
      document_ids => array['d5000000-0000-4000-8000-000000000005']::uuid[])$$,
  'a search within only the stranger''s document finds nothing');
select is_empty(
  $$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', chat_id => 'c2000000-0000-4000-8000-000000000002')$$,
  'a search within the stranger''s chat finds nothing');

-- the columns --------------------------------------------------------------------------------------------------------
select results_eq(
  $$select document_name, chunk_index, round(similarity::numeric, 4), text_rank > 0
      from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery',
        document_ids => array['d1000000-0000-4000-8000-000000000001', 'd2000000-0000-4000-8000-000000000002', 'd4000000-0000-4000-8000-000000000004']::uuid[])$$,
  $$values ('manual.pdf'::text, 0, 0.8::numeric, true), ('manual.pdf', 1, 0.96, null::boolean),
           ('draft.txt', 0, null, true), ('faq.txt', 0, 0.6, null)$$,
  'similarity is 1 − cosine distance for embedded chunks and null for one not embedded yet; text_rank is positive for a word match and null without one');
select results_eq(
  $$select document_name, chunk_index, similarity, score
      from public.match_document_chunks(null, 'warranty battery')$$,
  $$values ('manual.pdf'::text, 0, null::float8, (1.0 / 61)::float8), ('legacy.txt', 0, null, (1.0 / 62)::float8),
           ('draft.txt', 0, null, (1.0 / 63)::float8)$$,
  'without a query embedding the words alone find chunks, embedded or not, with similarity null and the text rank''s score');
select results_eq(
  $$select document_name, chunk_index, text_rank
      from public.match_document_chunks(pg_temp.vec(1, 0, 0), '', embedder => 'gte-small')$$,
  $$values ('manual.pdf'::text, 1, null::real), ('manual.pdf', 0, null), ('faq.txt', 0, null)$$,
  'without words the vector part alone ranks, and text_rank is null');

-- the English configuration ------------------------------------------------------------------------------------------
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(null, 'warranties')$$,
  $$values ('manual.pdf'::text, 0), ('legacy.txt', 0), ('draft.txt', 0)$$,
  'a question word in another inflection matches: "warranties" finds "warranty" (and "Warranty")');
-- The question's words are stemmed once (the passage's own words find it; stemming twice would not).
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(null, 'Which universities agreed?')$$,
  $$values ('draft.txt'::text, 1)$$,
  'a question with the passage''s own words finds it: "universities agreed" finds "The universities agreed …"');
select is_empty($$select * from public.match_document_chunks(null, 'What is it and where was that?')$$,
  'a question of stop words alone matches nothing');
select results_eq(
  $$select chunk_id, score from public.match_document_chunks(null, $q$'warranty' & (battery | !warranty): "battery":* \ <-> --$q$)$$,
  $$select chunk_id, score from public.match_document_chunks(null, 'warranty battery')$$,
  'tsquery operators and punctuation in the question (& | ! ( ) : '' " * \) raise no error: it is read as its words');
select is_empty($$select * from public.match_document_chunks(null, $q$& | ! ( ) : ' " * \ <->$q$)$$,
  'a question of operators alone raises no error and matches nothing');

-- filters ------------------------------------------------------------------------------------------------------------
select results_eq(
  $$select (select score from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', rrf_k => 3)
             where document_name = 'legacy.txt'),
           (select score from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', rrf_k => 3, embedder => 'gte-small')
             where document_name = 'legacy.txt')$$,
  $$values (0.45::float8, 0.2::float8)$$,
  'embedder keeps another model''s vectors out of the vector part: the old model''s exact vector scores 1/(3+1) + 1/(3+2) without it, only its text rank 1/(3+2) with it');
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery',
      document_ids => array['d2000000-0000-4000-8000-000000000002', 'd4000000-0000-4000-8000-000000000004']::uuid[])$$,
  $$values ('faq.txt'::text, 0), ('draft.txt', 0)$$,
  'document_ids limits both parts to those documents');
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery',
      chat_id => 'c1000000-0000-4000-8000-000000000001')$$,
  $$values ('manual.pdf'::text, 0), ('manual.pdf', 1), ('draft.txt', 0)$$,
  'chat_id limits both parts to the documents attached to that chat');

-- bounds -------------------------------------------------------------------------------------------------------------
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 0)$$,
  '22023', 'match_document_chunks: match_count must be between 1 and 50', 'match_count 0 is rejected');
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 51, candidates => 60)$$,
  '22023', 'match_document_chunks: match_count must be between 1 and 50', 'match_count over 50 is rejected');
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 10, candidates => 9)$$,
  '22023', 'match_document_chunks: candidates must be between match_count and 200', 'fewer candidates than match_count are rejected');
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 10, candidates => 201)$$,
  '22023', 'match_document_chunks: candidates must be between match_count and 200', 'more than 200 candidates are rejected');
-- Null bounds are rejected, not read as no limit.
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', null)$$,
  '22023', 'match_document_chunks: match_count must be between 1 and 50', 'a null match_count is rejected, not read as no limit');
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 10, candidates => null)$$,
  '22023', 'match_document_chunks: candidates must be between match_count and 200', 'null candidates are rejected, not read as no limit');
select throws_ok($$select * from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty', 10, rrf_k => 0)$$,
  '22023', 'match_document_chunks: rrf_k must be at least 1', 'an rrf_k below 1 is rejected');
select results_eq(
  $$select (select count(*)::int from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', 1, candidates => 1)),
           (select count(*)::int from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', 50, candidates => 200))$$,
  $$values (1, 5)$$,
  'the bounds themselves are accepted: match_count 1 with 1 candidate, 50 with 200 (all five of the owner''s matches)');
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(pg_temp.vec(1, 0, 0), 'warranty battery', 2, embedder => 'gte-small')$$,
  $$values ('manual.pdf'::text, 0), ('manual.pdf', 1)$$,
  'match_count limits the rows to the best ones');

-- the generated fts column follows the content --------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';
update public.document_chunks set content = 'Returns need the original receipt.'
 where document_id = 'd1000000-0000-4000-8000-000000000001' and chunk_index = 1;
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';
select results_eq(
  $$select (select count(*)::int from public.match_document_chunks(null, 'receipts')),
           (select count(*)::int from public.match_document_chunks(null, 'thirty days'))$$,
  $$values (1, 0)$$,
  'a rewritten chunk is found by its new words and no longer by its old ones (fts is generated from content)');

-- the stranger --------------------------------------------------------------------------------------------------------
set local request.jwt.claims to '{"sub": "22222222-2222-4222-8222-222222222222", "role": "authenticated"}';
select results_eq(
  $$select document_name, chunk_index from public.match_document_chunks(pg_temp.vec(0.8, 0.6, 0), 'warranty battery returns', 50, candidates => 200)$$,
  $$values ('secret.pdf'::text, 0)$$,
  'the stranger finds only their own chunk, even with the owner''s exact vector and words');

-- a large table: HNSW with iterative scan for a user with 5,000 chunks, the exact plan for a small share ---------------
set local role postgres;
-- Loading first and building the HNSW index after is pgvector's advice for bulk loads, and five times faster here than
-- growing the index row by row. The index is rebuilt from its own definition, so the search uses the real one.
create temporary table hnsw_index on commit drop as
  select pg_get_indexdef('public.document_chunks_embedding_idx'::regclass) as definition;
drop index public.document_chunks_embedding_idx;
insert into public.documents (id, owner_id, storage_path, name, status, chunk_count, embedder, embedding_dimensions) values
  ('b1000000-0000-4000-8000-000000000001', '33333333-3333-4333-8333-333333333333', '33333333-3333-4333-8333-333333333333/big.txt', 'big.txt', 'ready', 5000, 'gte-small', 384),
  ('b2000000-0000-4000-8000-000000000002', '44444444-4444-4444-8444-444444444444', '44444444-4444-4444-8444-444444444444/small.txt', 'small.txt', 'ready', 150, 'gte-small', 384);
-- Unit vectors on a circle in the first two dimensions: the big user's 5,000 at angles 0 … 2.39952 rad, the small
-- user's 150 at 2.44 … 2.4549 rad. The big user's query (2.45 rad) has all 150 of the small user's chunks nearer than
-- any of its own: more than hnsw.ef_search (100), so only an iterative scan gets past them.
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
select 'b1000000-0000-4000-8000-000000000001', '33333333-3333-4333-8333-333333333333', i, 'big ' || i, 2,
       pg_temp.vec(cos(i * 0.00048)::real, sin(i * 0.00048)::real, 0)
  from generate_series(0, 4999) i;
insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count, embedding)
select 'b2000000-0000-4000-8000-000000000002', '44444444-4444-4444-8444-444444444444', i, 'small ' || i, 2,
       pg_temp.vec(cos(2.44 + i * 0.0001)::real, sin(2.44 + i * 0.0001)::real, 0)
  from generate_series(0, 149) i;
do $$ begin execute (select definition from hnsw_index); end $$;

-- Each user's true nearest chunk, computed exactly (a sort over their rows, no index).
create temporary table nearest on commit drop as
  select 'big'::text as who, c.id, c.chunk_index from public.document_chunks c
   where c.owner_id = '33333333-3333-4333-8333-333333333333'
   order by (c.embedding operator(extensions.<=>) pg_temp.vec(cos(2.45)::real, sin(2.45)::real, 0)) + 0, c.id limit 1;
insert into nearest
  select 'small', c.id, c.chunk_index from public.document_chunks c
   where c.owner_id = '44444444-4444-4444-8444-444444444444'
   order by (c.embedding operator(extensions.<=>) pg_temp.vec(cos(1.0)::real, sin(1.0)::real, 0)) + 0, c.id limit 1;
grant select on nearest to authenticated;

select results_eq(
  $$select d.owner_id, d.chunk_count, (select count(*)::int from public.document_chunks c where c.document_id = d.id and c.embedding is not null)
      from public.documents d
     where d.owner_id in ('33333333-3333-4333-8333-333333333333', '44444444-4444-4444-8444-444444444444') order by d.owner_id$$,
  $$values ('33333333-3333-4333-8333-333333333333'::uuid, 5000, 5000), ('44444444-4444-4444-8444-444444444444'::uuid, 150, 150)$$,
  '(the big user has 5,000 embedded chunks, as their document''s chunk_count says: the threshold for the HNSW plan; the small user 150)');

-- At 5,000 rows sorting the user's rows is still cheap enough that the planner would not walk the graph; on a
-- production-size table it does. With sorting priced out here too, the search walks the HNSW index as it would there.
set local enable_sort to off;
set local role authenticated;
set local request.jwt.claims to '{"sub": "33333333-3333-4333-8333-333333333333", "role": "authenticated"}';
select matches(
  pg_temp.plan_of($$select c.id from public.document_chunks c
     where c.document_id = any ('{b1000000-0000-4000-8000-000000000001}'::uuid[]) and c.embedding is not null
     order by c.embedding operator(extensions.<=>) pg_temp.vec(cos(2.45)::real, sin(2.45)::real, 0) limit 40$$),
  'Index Scan using document_chunks_embedding_idx',
  '(the vector part of the big user''s search walks the HNSW index)');
select results_eq(
  $$select chunk_id, chunk_index from public.match_document_chunks(pg_temp.vec(cos(2.45)::real, sin(2.45)::real, 0), '', 1)$$,
  $$select id, chunk_index from nearest where who = 'big'$$,
  'a user with 5,000 chunks gets their true nearest chunk first, though 150 of another user''s chunks are nearer (iterative scan)');
select results_eq(
  $$select count(*)::int, bool_and(document_id = 'b1000000-0000-4000-8000-000000000001')
      from public.match_document_chunks(pg_temp.vec(cos(2.45)::real, sin(2.45)::real, 0), '', 10)$$,
  $$values (10, true)$$,
  '... and a full page of 10 of their own');

set local request.jwt.claims to '{"sub": "44444444-4444-4444-8444-444444444444", "role": "authenticated"}';
select results_eq(
  $$select chunk_id, chunk_index from public.match_document_chunks(pg_temp.vec(cos(1.0)::real, sin(1.0)::real, 0), '', 1)$$,
  $$select id, chunk_index from nearest where who = 'small'$$,
  'a user owning a small share of a large table gets their true nearest chunk first, though thousands of others'' are nearer');

select * from finish();
rollback;
