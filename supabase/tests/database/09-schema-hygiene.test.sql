-- Rules every migration must keep, checked on the catalog so that a new table, function or policy that
-- forgets one fails here: RLS everywhere, pinned search_path, no definer function reachable by anon or in an
-- exposed schema, an unreachable `private` schema (and queue, and Vault), the worker's RPCs for the service role
-- only, the exact privilege surface of anon and authenticated, and policy hygiene.
begin;
select plan(40);

select tables_are('public',
  array['plans', 'subscriptions', 'stripe_customers', 'chats', 'chat_messages', 'documents', 'document_chunks', 'user_daily_usage', 'movies'],
  'public has exactly the tested tables (a new table needs its tests here and in its own file)');
select tables_are('private', array['stripe_events'], 'private has exactly the Stripe event log (the queue is pgmq''s now)');
select functions_are('public',
  array['consume_daily_request', 'ingestion_ack', 'ingestion_claim', 'ingestion_fail', 'ingestion_kick', 'ingestion_reembed_stale',
        'ingestion_save_chunks', 'ingestion_save_embeddings', 'match_document_chunks', 'movies_released_since', 'reprocess_document',
        'stripe_apply_event', 'stripe_event_begin'],
  'public has exactly the tested functions (a new function needs its tests and a line here)');
select functions_are('private',
  array['continue_ingestion', 'create_document_for_object', 'drop_ingestion_messages', 'enforce_document_quota',
        'enqueue_document', 'held_document', 'kick_worker', 'on_document_deleted', 'on_document_status_change',
        'on_documents_object_change', 'on_user_deleted', 'plan_for', 'reembed_document', 'requeue_document', 'send_ingestion'],
  'private has exactly the tested functions');
select triggers_are('public', 'documents', array['enforce_document_quota', 'on_document_deleted', 'on_document_status_change'],
  'documents has exactly its quota, deletion and status triggers');

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
select is_empty(
  $$select p.oid::regprocedure::text from pg_catalog.pg_proc p
     where p.pronamespace = 'private'::regnamespace
       and (p.proacl is null or exists (select 1 from pg_catalog.aclexplode(p.proacl) a
                                         where a.grantee = 0 and a.privilege_type = 'EXECUTE'))$$,
  'no function in private is executable by PUBLIC');
select results_eq(
  $$select p.proname::text collate "default", r.role from pg_catalog.pg_proc p
      cross join (values ('public'), ('anon'), ('authenticated'), ('service_role')) r (role)
     where p.pronamespace = 'public'::regnamespace and p.proname like 'ingestion\_%'
       and pg_catalog.has_function_privilege(r.role, p.oid, 'execute')
     order by 1, 2$$,
  $$values ('ingestion_ack'::text, 'service_role'::text), ('ingestion_claim', 'service_role'), ('ingestion_fail', 'service_role'),
           ('ingestion_kick', 'service_role'), ('ingestion_reembed_stale', 'service_role'), ('ingestion_save_chunks', 'service_role'), ('ingestion_save_embeddings', 'service_role')$$,
  'the worker''s ingestion_* functions are executable by the service role only');
select results_eq(
  $$select p.proname::text collate "default" from pg_catalog.pg_proc p
     where p.pronamespace = 'public'::regnamespace and pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
     order by 1$$,
  array['match_document_chunks', 'movies_released_since', 'reprocess_document'],
  'a signed-in user may call exactly match_document_chunks, movies_released_since and reprocess_document');
select results_eq(
  $$select p.proname::text collate "default" from pg_catalog.pg_proc p
     where p.pronamespace = 'public'::regnamespace and pg_catalog.has_function_privilege('service_role', p.oid, 'execute')
       and not pg_catalog.has_function_privilege('authenticated', p.oid, 'execute')
     order by 1$$,
  array['consume_daily_request', 'ingestion_ack', 'ingestion_claim', 'ingestion_fail', 'ingestion_kick', 'ingestion_reembed_stale',
        'ingestion_save_chunks', 'ingestion_save_embeddings', 'stripe_apply_event', 'stripe_event_begin'],
  'the functions in public for the server alone are exactly the daily count, the worker''s ingestion_* RPCs and the Stripe webhook''s');
select results_eq(
  $$select p.proname::text collate "default" from pg_catalog.pg_proc p
     where p.pronamespace = 'private'::regnamespace and pg_catalog.has_function_privilege('service_role', p.oid, 'execute')
     order by 1$$,
  array['continue_ingestion', 'drop_ingestion_messages', 'held_document', 'kick_worker', 'plan_for', 'reembed_document', 'send_ingestion'],
  'in private the service role may call exactly what the worker''s RPCs call on its behalf');

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
     where c.relnamespace in ('private'::regnamespace, 'pgmq'::regnamespace, 'vault'::regnamespace) and c.relkind in ('r', 'p', 'v', 'm', 'S')
       and (pg_catalog.has_table_privilege(r.role, c.oid, 'select, insert, update, delete, truncate, references, trigger')
         or pg_catalog.has_any_column_privilege(r.role, c.oid, 'select, insert, update, references'))$$,
  'anon and authenticated hold no privilege on anything in private, in the queue (pgmq) or in Vault');
select isnt_empty(
  $$select 1 from pg_catalog.pg_class c where c.oid in ('pgmq.q_document_ingestion'::regclass, 'pgmq.a_document_ingestion'::regclass, 'vault.secrets'::regclass)$$,
  '(the check above has the queue, its archive and Vault''s secrets to inspect)');

-- the queue (pgmq), Vault and pg_cron ------------------------------------------------------------------------------
select is_empty(
  $$select n.nspname::text, r.role from pg_catalog.pg_namespace n cross join (values ('public'), ('anon'), ('authenticated')) r (role)
     where n.nspname in ('pgmq', 'vault', 'cron') and pg_catalog.has_schema_privilege(r.role, n.oid, 'usage, create')$$,
  'neither PUBLIC nor anon nor a signed-in user may use schemas pgmq, vault or cron');
select ok(
  pg_catalog.has_schema_privilege('service_role', 'pgmq', 'usage')
  and pg_catalog.has_table_privilege('service_role', 'pgmq.q_document_ingestion', 'select, insert, update, delete')
  and pg_catalog.has_table_privilege('service_role', 'pgmq.a_document_ingestion', 'select, insert, update, delete')
  and not pg_catalog.has_schema_privilege('service_role', 'pgmq', 'create'),
  'the service role works the queue and its archive (it may not create objects in pgmq)');
select hasnt_schema('pgmq_public', 'the queue is not exposed through the Data API (no pgmq_public schema)');

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
           ('chats', 'id', 'INSERT'), ('chats', 'title', 'INSERT'), ('chats', 'title', 'UPDATE'), ('documents', 'status', 'UPDATE')$$,
  'the columns a signed-in user may write are exactly a new chat''s id and title, a chat''s title, a message''s chat, role and content, and a document''s status');

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
