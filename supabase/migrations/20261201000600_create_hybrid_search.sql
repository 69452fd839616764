-- Hybrid retrieval over the caller's chunks: pgvector cosine similarity (HNSW) and Postgres full-text search,
-- fused by reciprocal rank fusion (RRF), so answers are good with real embeddings and still sensible with the
-- lexical dev embedder. The function is security invoker: row-level security limits both searches to the
-- caller's own chunks.
--
-- HNSW filters after the index scan: with a plain scan, a user who owns 1% of a large table would get ~1% of
-- the `ef_search` candidates, i.e. almost nothing. Two plans keep it right: when the caller's searchable chunks
-- are few (under 5,000), an exact scan of just those rows (found through the owner/document indexes) is both
-- exact and faster than walking the graph; otherwise HNSW with pgvector 0.8's iterative scan
-- (`hnsw.iterative_scan`, set on the function), which keeps walking until enough rows pass the filters. Hosted
-- Supabase ships pgvector 0.8.x; the lite stack's PGlite has 0.8.7. `npm run bench -- search` measures both.

alter table public.document_chunks
  add column fts tsvector generated always as (to_tsvector('english'::regconfig, content)) stored;
comment on column public.document_chunks.fts is 'Full-text index of content (English configuration), for hybrid search.';
create index document_chunks_fts_idx on public.document_chunks using gin (fts);
create index document_chunks_document_id_idx on public.document_chunks (document_id);

create function public.match_document_chunks(
  query_embedding extensions.vector(384),
  query_text text,
  match_count integer default 8,
  embedder text default null,
  document_ids uuid[] default null,
  chat_id uuid default null,
  candidates integer default 40,
  rrf_k integer default 60
)
returns table (
  chunk_id bigint,
  document_id uuid,
  document_name text,
  chunk_index integer,
  content text,
  metadata jsonb,
  similarity double precision,
  text_rank real,
  score double precision
)
language plpgsql
stable
security invoker
set search_path = ''
set hnsw.iterative_scan = 'relaxed_order'
set hnsw.ef_search = 100
as $$
declare
  scope_ids uuid[];
  vector_ids uuid[];
  semantic_ids bigint[];
  few boolean;
  words text[];
  all_words tsquery;
  any_word tsquery;
  lexical_ids bigint[];
  lexical_ranks real[];
begin
  if match_count is null or match_count not between 1 and 50 then
    raise exception 'match_document_chunks: match_count must be between 1 and 50' using errcode = '22023';
  end if;
  if candidates is null or candidates not between match_count and 200 then
    raise exception 'match_document_chunks: candidates must be between match_count and 200' using errcode = '22023';
  end if;
  if rrf_k is null or rrf_k < 1 then
    raise exception 'match_document_chunks: rrf_k must be at least 1' using errcode = '22023';
  end if;
  -- The documents searched (RLS: only the caller's): all of them, the ones given, or the ones attached to a chat;
  -- for the vector part only those embedded by the same model, since only their vectors are comparable.
  select pg_catalog.array_agg(d.id),
         pg_catalog.array_agg(d.id) filter (where match_document_chunks.embedder is null or d.embedder = match_document_chunks.embedder)
    into scope_ids, vector_ids
    from public.documents d
   where (match_document_chunks.document_ids is null or d.id = any (match_document_chunks.document_ids))
     and (match_document_chunks.chat_id is null or d.chat_id = match_document_chunks.chat_id);

  if query_embedding is not null and vector_ids is not null then
    -- Counted from the documents' chunk counts (kept by the worker), not by reading chunks.
    select coalesce(pg_catalog.sum(d.chunk_count), 0) < 5000 into few
      from public.documents d where d.id = any (vector_ids);
    if few then
      -- `+ 0` keeps the planner off the HNSW index: an exact ranking of the caller's few rows.
      select pg_catalog.array_agg(v.id order by v.distance) into semantic_ids
        from (select c.id, (c.embedding operator(extensions.<=>) query_embedding) + 0 as distance
                from public.document_chunks c
               where c.document_id = any (vector_ids) and c.embedding is not null
               order by 2 limit candidates) v;
    else
      select pg_catalog.array_agg(v.id order by v.distance) into semantic_ids
        from (select c.id, c.embedding operator(extensions.<=>) query_embedding as distance
                from public.document_chunks c
               where c.document_id = any (vector_ids) and c.embedding is not null
               order by c.embedding operator(extensions.<=>) query_embedding limit candidates) v;
    end if;
  end if;

  -- The question's words, stemmed, stop words dropped. Passages with all of them rank first, then passages with
  -- any (a question rarely repeats a passage's wording); the second tier ranks at most 200 matches, so a very
  -- common word cannot make ranking scan the whole table. Computed here, as values, so the GIN index serves both.
  select pg_catalog.array_agg(pg_catalog.quote_literal(w)) into words
    from pg_catalog.unnest(pg_catalog.tsvector_to_array(pg_catalog.to_tsvector('english'::regconfig, coalesce(query_text, '')))) w;
  if words is not null then
    -- The words are stems already: cast, not `to_tsquery`, which would stem them again ('univers' → 'univ').
    all_words := pg_catalog.array_to_string(words, ' & ')::tsquery;
    any_word := pg_catalog.array_to_string(words, ' | ')::tsquery;
    select pg_catalog.array_agg(l.id order by l.tier, l.text_rank desc, l.id),
           pg_catalog.array_agg(l.text_rank order by l.tier, l.text_rank desc, l.id)
      into lexical_ids, lexical_ranks
      from (
        (select c.id, 0 as tier, pg_catalog.ts_rank_cd(c.fts, all_words) as text_rank
           from public.document_chunks c
          where c.fts operator(pg_catalog.@@) all_words and c.document_id = any (coalesce(scope_ids, '{}'))
          order by 3 desc, 1
          limit candidates)
        union all
        (select m.id, 1, pg_catalog.ts_rank_cd(m.fts, any_word)
           from (select c.id, c.fts from public.document_chunks c
                  where c.fts operator(pg_catalog.@@) any_word and not c.fts operator(pg_catalog.@@) all_words
                    and c.document_id = any (coalesce(scope_ids, '{}'))
                  limit 200) m
          order by 3 desc, 1
          limit candidates)
      ) l;
  end if;

  -- Reciprocal rank fusion of the two lists; rows fetched by primary key.
  lexical_ids := lexical_ids[1:candidates];
  return query
  select c.id, c.document_id, d.name, c.chunk_index, c.content, c.metadata,
         case when c.embedding is not null and query_embedding is not null
              then 1 - (c.embedding operator(extensions.<=>) query_embedding) end,
         lexical_ranks[pg_catalog.array_position(lexical_ids, c.id)],
         (coalesce(1.0 / (rrf_k + pg_catalog.array_position(semantic_ids, c.id)), 0)
          + coalesce(1.0 / (rrf_k + pg_catalog.array_position(lexical_ids, c.id)), 0))::double precision
    from public.document_chunks c
    join public.documents d on d.id = c.document_id
   where c.id = any (coalesce(semantic_ids, '{}') || coalesce(lexical_ids, '{}'))
   order by 9 desc, 1
   limit match_count;
end
$$;
comment on function public.match_document_chunks(extensions.vector, text, integer, text, uuid[], uuid, integer, integer) is
  'Hybrid search over your chunks: vector similarity and full-text, fused by reciprocal rank; optionally within some documents or a chat.';
revoke execute on function public.match_document_chunks(extensions.vector, text, integer, text, uuid[], uuid, integer, integer) from public, anon;
grant execute on function public.match_document_chunks(extensions.vector, text, integer, text, uuid[], uuid, integer, integer) to authenticated, service_role;
