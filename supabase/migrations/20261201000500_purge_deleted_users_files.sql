-- Deleting a user (Auth admin API, dashboard) cascades to their rows — documents, chunks, chats, usage — but
-- Storage objects are files as well as rows and must be removed through the Storage API. So the deletion queues
-- a `purge_user_files` message, in the same transaction, and the worker removes the user's folder from bucket
-- `documents` with the service role. Nothing is left behind, and nothing is lost if the worker is down.

create function private.on_user_deleted()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform pgmq.send('document_ingestion', pg_catalog.jsonb_build_object('kind', 'purge_user_files', 'user_id', old.id));
  perform private.kick_worker();
  return null;
end
$$;
revoke execute on function private.on_user_deleted() from public, anon, authenticated;

create trigger on_user_deleted_purge_files after delete on auth.users
  for each row execute function private.on_user_deleted();
