-- pg_net's SQL surface for the lite stack, written from pg_net's documented contract (README, 0.19/0.20): the same
-- schema, tables, request functions, defaults and grants. As upstream, a request function only inserts a row into
-- net.http_request_queue, so a request is sent only if the calling transaction commits; the stack's scheduler
-- (stack/scheduler/net.ts) plays the background worker: it takes queued rows, sends them and writes
-- net._http_response. The C helpers of the real extension (URL encoding, wake-up) are SQL or absent here.

create schema if not exists net;

create domain net.http_method as text
  check (value operator(pg_catalog.~~*) 'get' or value operator(pg_catalog.~~*) 'post' or value operator(pg_catalog.~~*) 'delete');

-- Requests waiting to be sent; the scheduler deletes each row as it takes it.
create unlogged table net.http_request_queue (
  id bigserial,
  method net.http_method not null,
  url text not null,
  headers jsonb,
  body bytea,
  timeout_milliseconds int not null
);

-- One row per finished request, with the request's id; rows older than 6 hours are pruned (pg_net.ttl).
create unlogged table net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamptz not null default pg_catalog.now()
);
create index on net._http_response (created);

-- Percent-encodes everything but RFC 3986's unreserved characters, as curl_easy_escape does.
create function net._urlencode_string(string varchar) returns text
language sql immutable strict
set search_path = ''
as $$
  select coalesce(pg_catalog.string_agg(
           case when b between 48 and 57 or b between 65 and 90 or b between 97 and 122 or b in (45, 46, 95, 126)
                then pg_catalog.chr(b)
                else '%' operator(pg_catalog.||) pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(b), 2, '0'))
           end, '' order by i), '')
    from (select i, pg_catalog.get_byte(bytes, i) as b
            from (select pg_catalog.convert_to(string, 'UTF8') as bytes) s,
                 pg_catalog.generate_series(0, pg_catalog.length(s.bytes) - 1) as i) encoded
$$;

-- Appends already-encoded `key=value` pairs to the URL's query string.
create function net._encode_url_with_params_array(url text, params_array text[]) returns text
language sql immutable strict
set search_path = ''
as $$
  select case when pg_catalog.cardinality(params_array) operator(pg_catalog.=) 0 then url
              else url operator(pg_catalog.||) case when pg_catalog.strpos(url, '?') operator(pg_catalog.>) 0 then '&' else '?' end
                   operator(pg_catalog.||) pg_catalog.array_to_string(params_array, '&')
         end
$$;

create function net._lite_query_params(params jsonb) returns text[]
language sql immutable
set search_path = ''
as $$
  select coalesce(pg_catalog.array_agg(net._urlencode_string(p.key) operator(pg_catalog.||) '=' operator(pg_catalog.||) net._urlencode_string(p.value)), '{}')
    from pg_catalog.jsonb_each_text(coalesce(params, '{}'::jsonb)) as p
$$;

create function net.http_get(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue as q (method, url, headers, timeout_milliseconds)
  values ('GET', net._encode_url_with_params_array($1, net._lite_query_params($2)), $3, $4)
  returning q.id into request_id;
  return request_id;
end
$$;

create function net.http_post(
  url text,
  body jsonb default '{}'::jsonb,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds int default 5000
) returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  request_headers jsonb := coalesce($4, '{}'::jsonb);
  content_type text := (select h.value from pg_catalog.jsonb_each_text(request_headers) as h
                         where pg_catalog.lower(h.key) operator(pg_catalog.=) 'content-type' limit 1);
  request_id bigint;
begin
  if content_type is null then
    request_headers := request_headers operator(pg_catalog.||) '{"Content-Type": "application/json"}'::jsonb;
  elsif content_type operator(pg_catalog.<>) 'application/json' then
    raise exception 'Content-Type header must be "application/json"';
  end if;
  insert into net.http_request_queue as q (method, url, headers, body, timeout_milliseconds)
  values ('POST', net._encode_url_with_params_array($1, net._lite_query_params($3)), request_headers,
          pg_catalog.convert_to($2::text, 'UTF8'), $5)
  returning q.id into request_id;
  return request_id;
end
$$;

create function net.http_delete(
  url text,
  params jsonb default '{}'::jsonb,
  headers jsonb default '{}'::jsonb,
  timeout_milliseconds int default 5000,
  body jsonb default null
) returns bigint
language plpgsql volatile
set search_path = ''
as $$
declare
  request_id bigint;
begin
  insert into net.http_request_queue as q (method, url, headers, body, timeout_milliseconds)
  values ('DELETE', net._encode_url_with_params_array($1, net._lite_query_params($2)), $3,
          pg_catalog.convert_to($5::text, 'UTF8'), $4)
  returning q.id into request_id;
  return request_id;
end
$$;

-- pg_net's own grants: every role may queue requests and read responses.
grant usage on schema net to public;
grant all on all sequences in schema net to public;
grant all on all tables in schema net to public;
