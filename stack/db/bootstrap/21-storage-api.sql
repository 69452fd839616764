-- What the Storage API needs beyond the tables: the list function storage-js's `list()` reaches
-- (`storage.search`, SECURITY INVOKER so RLS on storage.objects decides what a caller sees), the size helper,
-- and upstream's trigger that keeps `updated_at` current. Idempotent: runs on every start.

-- Entries directly under `prefix` (which ends with '/' or is empty): files with their row, and one entry per
-- sub-folder with null id/timestamps/metadata. `search` narrows entries to names starting with it. Names are
-- relative to `prefix`. Matching is case-insensitive, as upstream's. Sorting by name interleaves folders and
-- files; sorting by a timestamp lists folders (by name) first, then files. `levels` is accepted and ignored,
-- as upstream now does.
create or replace function storage.search(
  prefix text,
  bucketname text,
  limits int default 100,
  levels int default 1,
  offsets int default 0,
  search text default '',
  sortcolumn text default 'name',
  sortorder text default 'asc'
)
returns table (
  name text,
  id uuid,
  updated_at timestamptz,
  created_at timestamptz,
  last_accessed_at timestamptz,
  metadata jsonb
)
language plpgsql stable
security invoker
set search_path = ''
as $$
declare
  v_prefix text := coalesce(prefix, '');
  v_combined text := coalesce(prefix, '') || coalesce(search, '');
  v_column text;
  v_order text := case when pg_catalog.lower(coalesce(sortorder, 'asc')) = 'desc' then 'desc' else 'asc' end;
begin
  v_column := case pg_catalog.lower(coalesce(sortcolumn, 'name'))
    when 'updated_at' then 'updated_at'
    when 'created_at' then 'created_at'
    when 'last_accessed_at' then 'last_accessed_at'
    else 'name'
  end;
  return query execute pg_catalog.format(
    $q$
    with matched as (
      select o.name as full_name, o.id, o.updated_at, o.created_at, o.last_accessed_at, o.metadata,
             pg_catalog.strpos(pg_catalog.substr(o.name, pg_catalog.length($1) + 1), '/') as slash
        from storage.objects o
       where o.bucket_id = $2
         and pg_catalog.lower(pg_catalog.left(o.name, pg_catalog.length($1))) = pg_catalog.lower($1)
    ), entries as (
      select pg_catalog.substr(m.full_name, pg_catalog.length($3) + 1,
                               pg_catalog.length($1) - pg_catalog.length($3) + m.slash - 1) as name,
             null::uuid as id, null::timestamptz as updated_at, null::timestamptz as created_at,
             null::timestamptz as last_accessed_at, null::jsonb as metadata, 0 as kind
        from matched m
       where m.slash > 0
       group by 1
      union all
      select pg_catalog.substr(m.full_name, pg_catalog.length($3) + 1),
             m.id, m.updated_at, m.created_at, m.last_accessed_at, m.metadata, 1
        from matched m
       where m.slash = 0
    )
    select e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata
      from entries e
     order by %s
     limit $4 offset $5
    $q$,
    case when v_column = 'name'
      then pg_catalog.format('pg_catalog.lower(e.name) collate "C" %s, e.name collate "C" %s', v_order, v_order)
      else pg_catalog.format('e.kind, case when e.kind = 0 then pg_catalog.lower(e.name) end collate "C" %s, e.%I %s, e.name collate "C"',
                             v_order, v_column, v_order)
    end
  ) using v_combined, bucketname, v_prefix, least(coalesce(limits, 100), 1500), greatest(coalesce(offsets, 0), 0);
end
$$;

grant execute on function storage.search(text, text, int, int, int, text, text, text)
  to anon, authenticated, service_role, postgres;

-- Total bytes per bucket, from the size recorded in each object's metadata.
create or replace function storage.get_size_by_bucket()
returns table (size bigint, bucket_id text)
language sql stable
security invoker
set search_path = ''
as $$
  select pg_catalog.sum((o.metadata ->> 'size')::bigint)::bigint as size, o.bucket_id
    from storage.objects o
   group by o.bucket_id
$$;

grant execute on function storage.get_size_by_bucket() to service_role, postgres;

create or replace function storage.update_updated_at_column() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at = pg_catalog.now();
  return new;
end
$$;

drop trigger if exists update_objects_updated_at on storage.objects;
create trigger update_objects_updated_at before update on storage.objects
  for each row execute function storage.update_updated_at_column();
