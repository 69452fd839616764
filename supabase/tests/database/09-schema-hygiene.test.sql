-- Rules every migration must keep, checked on the catalog so that a new table, function or policy that
-- forgets one fails here: RLS everywhere, pinned search_path, no definer function reachable by anon, an
-- unreachable `private` schema, the exact privilege surface of anon and authenticated, and policy hygiene.
begin;
select plan(29);

select tables_are('public',
  array['plans', 'subscriptions', 'chats', 'chat_messages', 'documents', 'document_chunks', 'user_daily_usage', 'movies'],
  'public has exactly the tested tables (a new table needs its tests here and in its own file)');
select tables_are('private', array['jobs', 'stripe_events'], 'private has exactly the queue and the Stripe event log');

-- row-level security -----------------------------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'every table in public has row-level security enabled');
select is_empty(
  $$select c.oid::regclass::text from pg_catalog.pg_class c
     where c.relnamespace = 'private'::regnamespace and c.relkind in ('r', 'p') and not c.relrowsecurity$$,
  'every table in private has row-level security enabled too');
select is_empty(
  $$select c.oid::regclass::text from pg_catalog.pg_class c
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('v', 'm')
       and not coalesce(c.reloptions @> array['security_invoker=true'], false)$$,
  'no view in public bypasses RLS (views must be security_invoker)');

-- functions --------------------------------------------------------------------------------------------------
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and not ('search_path=""' = any(coalesce(p.proconfig, '{}')))$$,
  'every function in public and private sets search_path = ''''');
select isnt_empty(
  $$select 1 from pg_catalog.pg_proc p where p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)$$,
  '(the search_path check above has functions to inspect)');
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
     where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema')
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.classid = 'pg_catalog.pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')
       and pg_catalog.has_function_privilege('anon', p.oid, 'execute')$$,
  'no security definer function is executable by anon');
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.prosecdef and p.pronamespace in ('public'::regnamespace, 'private'::regnamespace)
       and (p.proacl is null or exists (select 1 from pg_catalog.aclexplode(p.proacl) a
                                         where a.grantee = 0 and a.privilege_type = 'EXECUTE'))$$,
  'every security definer function has execute revoked from PUBLIC');
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.prosecdef and p.pronamespace in ('public'::regnamespace, 'graphql_public'::regnamespace)$$,
  'no security definer function lives in an exposed schema');
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.pronamespace = 'public'::regnamespace and pg_catalog.has_function_privilege('anon', p.oid, 'execute')$$,
  'no function in public is executable by anon (the default grant is revoked each time)');
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.pronamespace = 'private'::regnamespace
       and (pg_catalog.has_function_privilege('authenticated', p.oid, 'execute') or pg_catalog.has_function_privilege('anon', p.oid, 'execute'))$$,
  'no private function is executable by a signed-in user or anon');
select ok(
  not (select p.prosecdef from pg_catalog.pg_proc p where p.oid = 'public.reprocess_document(uuid)'::regprocedure),
  'reprocess_document is security invoker: it changes only what the caller may change');
select ok(
  not pg_catalog.has_function_privilege('public', 'private.requeue_document(uuid)', 'execute'),
  'functions created in private are not executable by PUBLIC by default');

-- the private schema -----------------------------------------------------------------------------------------
select ok(not pg_catalog.has_schema_privilege('anon', 'private', 'usage'), 'anon cannot use schema private');
select ok(not pg_catalog.has_schema_privilege('authenticated', 'private', 'usage'), 'a signed-in user cannot use schema private');
select ok(
  not pg_catalog.has_schema_privilege('anon', 'private', 'create')
  and not pg_catalog.has_schema_privilege('authenticated', 'private', 'create')
  and not pg_catalog.has_schema_privilege('service_role', 'private', 'create'),
  'no API role can create objects in schema private');
select ok(pg_catalog.has_schema_privilege('service_role', 'private', 'usage'), 'the service role uses schema private');
select is_empty(
  $$select c.oid::regclass::text, r.role from pg_catalog.pg_class c cross join (values ('anon'), ('authenticated')) r (role)
     where c.relnamespace = 'private'::regnamespace and c.relkind in ('r', 'p', 'v', 'm', 'S')
       and (pg_catalog.has_table_privilege(r.role, c.oid, 'select, insert, update, delete, truncate, references, trigger')
         or pg_catalog.has_any_column_privilege(r.role, c.oid, 'select, insert, update, references'))$$,
  'anon and authenticated hold no privilege on anything in private');

-- the privilege surface of the API roles in public ------------------------------------------------------------
select results_eq(
  $$select c.relname::text collate "default", p.priv from pg_catalog.pg_class c
      cross join unnest(array['select', 'insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p (priv)
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
       and (pg_catalog.has_table_privilege('anon', c.oid, p.priv)
         or (p.priv in ('select', 'insert', 'update', 'references') and pg_catalog.has_any_column_privilege('anon', c.oid, p.priv)))
     order by 1, 2$$,
  $$values ('plans'::text, 'select'::text)$$,
  'anon may only read plans');
select results_eq(
  $$select c.relname::text collate "default", p.priv from pg_catalog.pg_class c
      cross join unnest(array['insert', 'update', 'delete', 'truncate', 'references', 'trigger']) p (priv)
     where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'v', 'm')
       and (pg_catalog.has_table_privilege('authenticated', c.oid, p.priv)
         or (p.priv in ('insert', 'update', 'references') and pg_catalog.has_any_column_privilege('authenticated', c.oid, p.priv)))
     order by 1, 2$$,
  $$values ('chat_messages'::text, 'insert'::text), ('chats', 'delete'), ('chats', 'insert'), ('chats', 'update'), ('documents', 'update')$$,
  'a signed-in user writes only chats, chat messages and a document''s status');
select results_eq(
  $$select table_name::text collate "default", column_name::text collate "default", privilege_type::text collate "default" from information_schema.column_privileges
     where grantee = 'authenticated' and table_schema = 'public' and privilege_type in ('INSERT', 'UPDATE')
     order by 1, 3, 2$$,
  $$values ('chat_messages'::text, 'chat_id'::text, 'INSERT'::text), ('chat_messages', 'content', 'INSERT'), ('chat_messages', 'role', 'INSERT'),
           ('chats', 'title', 'INSERT'), ('chats', 'title', 'UPDATE'), ('documents', 'status', 'UPDATE')$$,
  'the columns a signed-in user may write are exactly chat titles, a message''s chat, role and content, and a document''s status');

-- policies ---------------------------------------------------------------------------------------------------
select is_empty(
  $$select schemaname, tablename, policyname from pg_catalog.pg_policies
     where schemaname in ('public', 'private', 'storage') and cmd = 'ALL'$$,
  'no policy is FOR ALL: one policy per operation');
select is_empty(
  $$select schemaname, tablename, policyname from pg_catalog.pg_policies
     where schemaname in ('public', 'private', 'storage') and roles @> array['public'::name]$$,
  'every policy names its role (none applies to PUBLIC)');
select is_empty(
  $$select schemaname, tablename, policyname from pg_catalog.pg_policies
     where schemaname in ('public', 'private', 'storage') and cmd = 'UPDATE' and (qual is null or with_check is null)$$,
  'every UPDATE policy has both USING and WITH CHECK');
select is_empty(
  $$select schemaname, tablename, policyname from pg_catalog.pg_policies
     where schemaname in ('public', 'private', 'storage')
       and regexp_replace(coalesce(qual, '') || ' ' || coalesce(with_check, ''), 'SELECT auth\.uid\(\)', '', 'g') ~ 'auth\.uid\(\)'$$,
  'policies call auth.uid() through (select auth.uid()), evaluated once per statement');
select is_empty(
  $$select policyname from pg_catalog.pg_policies
     where schemaname = 'public' and policyname::text !~ ('^' || tablename::text || '_' || lower(cmd) || '_' || roles[1]::text || '(_|$)')$$,
  'policies in public are named <table>_<op>_<role>[_<qualifier>]');

-- documentation and indexes ------------------------------------------------------------------------------------
select is_empty(
  $$select c.oid::regclass::text from pg_catalog.pg_class c
     where c.relnamespace in ('public'::regnamespace, 'private'::regnamespace) and c.relkind in ('r', 'p')
       and pg_catalog.obj_description(c.oid, 'pg_class') is null$$,
  'every table is commented');
select is_empty(
  $$select c.conrelid::regclass::text, c.conname from pg_catalog.pg_constraint c
     where c.contype = 'f' and c.connamespace in ('public'::regnamespace, 'private'::regnamespace)
       and not exists (
         select 1 from pg_catalog.pg_index i
          where i.indrelid = c.conrelid
            and (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(c.conkey)] = c.conkey)$$,
  'every foreign key is covered by an index that starts with its columns');

select * from finish();
rollback;
