-- The movies catalogue: signed-in users read it and call movies_released_since; only the service role edits
-- it; anon gets nothing. movies_released_since filters by year and minimum rating and orders best first.
begin;
select plan(22);

-- Years at the top of the allowed range keep these rows apart from any demo data.
insert into public.movies (movie_id, title, released, rating) values
  (990001, 'Old classic', 2095, 9.5),
  (990002, 'Weak new one', 2097, 5.0),
  (990003, 'Good 2096', 2096, 8.0),
  (990004, 'Good 2099', 2099, 8.0),
  (990005, 'Great 2098 first', 2098, 9.1),
  (990006, 'Great 2098 second', 2098, 9.1),
  (990007, 'Borderline', 2096, 7.0);
insert into auth.users (id, email) values ('11111111-1111-4111-8111-111111111111', 'viewer@example.com');

select policies_are('public', 'movies', array['movies_select_authenticated'], 'movies has only the signed-in read policy');
select function_returns('public', 'movies_released_since', array['integer', 'numeric'], 'setof movies',
  'movies_released_since returns movies rows');
select volatility_is('public', 'movies_released_since', array['integer', 'numeric'], 'stable',
  'movies_released_since is stable');
select isnt_definer('public', 'movies_released_since', array['integer', 'numeric'],
  'movies_released_since runs with the caller''s rights (RLS applies)');

-- signed-in user -------------------------------------------------------------------------------------------
set local role authenticated;
set local request.jwt.claims to '{"sub": "11111111-1111-4111-8111-111111111111", "role": "authenticated"}';

select results_eq(
  $$select movie_id from public.movies_released_since(2096, 7.0) where movie_id >= 990001$$,
  $$values (990005::bigint), (990006::bigint), (990004::bigint), (990003::bigint), (990007::bigint)$$,
  'released in or after 2096, rated 7.0 or more (bounds included), by rating then year descending, then id');
select results_eq(
  $$select movie_id from public.movies_released_since(2096) where movie_id >= 990001$$,
  $$values (990005::bigint), (990006::bigint), (990004::bigint), (990003::bigint), (990007::bigint), (990002::bigint)$$,
  'without a minimum rating every movie since the year is returned');
select results_eq(
  $$select movie_id from public.movies_released_since(2099, 8.5) where movie_id >= 990001$$,
  $$select 1::bigint where false$$,
  'no movie matches both a late year and a high rating');
select results_eq(
  $$select title, released, rating from public.movies_released_since(2098, 9.1) where movie_id >= 990001$$,
  $$values ('Great 2098 first'::text, 2098, 9.1::numeric(2, 1)), ('Great 2098 second'::text, 2098, 9.1::numeric(2, 1))$$,
  'ties on rating and year come back in id order with their whole rows');
select is((select count(*)::int from public.movies where movie_id >= 990001), 7, 'a signed-in user reads the catalogue');
select throws_ok($$insert into public.movies (title, released, rating) values ('Mine', 2000, 5.0)$$,
  '42501', 'permission denied for table movies', 'a signed-in user cannot add movies');
select throws_ok($$update public.movies set rating = 9.9 where movie_id = 990002$$,
  '42501', 'permission denied for table movies', 'a signed-in user cannot rate movies');
select throws_ok($$delete from public.movies where movie_id = 990002$$,
  '42501', 'permission denied for table movies', 'a signed-in user cannot delete movies');

-- anon -----------------------------------------------------------------------------------------------------
set local role anon;
set local request.jwt.claims to '{"role": "anon"}';

select throws_ok($$select * from public.movies$$,
  '42501', 'permission denied for table movies', 'anon cannot read the catalogue');
select throws_ok($$select * from public.movies_released_since(2000)$$,
  '42501', 'permission denied for function movies_released_since', 'anon cannot call movies_released_since');
select throws_ok($$insert into public.movies (title, released, rating) values ('Anon', 2000, 5.0)$$,
  '42501', 'permission denied for table movies', 'anon cannot add movies');

-- service role ---------------------------------------------------------------------------------------------
set local role service_role;
set local request.jwt.claims to '{"role": "service_role"}';

select lives_ok($$insert into public.movies (movie_id, title, released, rating) values (990008, 'Added', 2100, 9.9)$$,
  'the service role adds a movie');
select lives_ok($$update public.movies set rating = 1.0 where movie_id = 990005$$, 'the service role changes a rating');
select lives_ok($$delete from public.movies where movie_id = 990001$$, 'the service role deletes a movie');
select results_eq(
  $$select movie_id from public.movies_released_since(2096, 7.0) where movie_id >= 990001$$,
  $$values (990008::bigint), (990006::bigint), (990004::bigint), (990003::bigint), (990007::bigint)$$,
  'the service role calls movies_released_since and sees the edits');
select throws_ok($$insert into public.movies (title, released, rating) values ('Too early', 1887, 5.0)$$,
  '23514', 'new row for relation "movies" violates check constraint "movies_released_check"', 'films before 1888 are rejected');
select throws_ok($$insert into public.movies (title, released, rating) values ('Too good', 2000, 10.0)$$,
  '22003', 'numeric field overflow', 'ratings stop at 9.9');
select throws_ok($$insert into public.movies (title, released, rating) values ('', 2000, 5.0)$$,
  '23514', 'new row for relation "movies" violates check constraint "movies_title_check"', 'a title is required');

select * from finish();
rollback;
