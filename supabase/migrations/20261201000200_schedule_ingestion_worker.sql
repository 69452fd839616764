-- The `worker` function is called the way Supabase's "automatic embeddings" guide does it: pg_net posts to it,
-- with the project URL and a secret key from Vault — at once when work is queued (so a small file is ready within
-- seconds), and every 10 seconds from pg_cron while visible work remains (retries whose backoff ran out,
-- leases that expired, a kick that was lost).
--
-- A hosted project needs two Vault secrets, created once (README: "Deploying"):
--   select vault.create_secret('https://<project-ref>.supabase.co', 'project_url');
--   select vault.create_secret('<a secret key, sb_secret_…>', 'worker_secret');
-- Without them nothing is sent and documents wait in the queue. The lite stack writes both at start.

create extension if not exists pg_net with schema extensions;
create extension if not exists pg_cron;
create extension if not exists supabase_vault with schema vault;

-- Posts to the worker unless a post is already waiting to be sent; `only_if_due` skips it when no message is
-- visible. Definer: reads Vault and calls pg_net, which the callers (triggers in user requests) may not.
create function private.kick_worker(only_if_due boolean default false)
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  project_url text;
  worker_secret text;
  worker_url text;
begin
  if only_if_due and not exists (select 1 from pgmq.q_document_ingestion q where q.vt <= pg_catalog.now()) then
    return null;
  end if;
  select s.decrypted_secret into project_url from vault.decrypted_secrets s where s.name = 'project_url';
  select s.decrypted_secret into worker_secret from vault.decrypted_secrets s where s.name = 'worker_secret';
  if project_url is null or worker_secret is null then
    return null;
  end if;
  worker_url := pg_catalog.rtrim(project_url, '/') || '/functions/v1/worker';
  if exists (select 1 from net.http_request_queue r where r.url = worker_url) then
    return null;
  end if;
  return net.http_post(
    url := worker_url,
    body := '{}'::jsonb,
    headers := pg_catalog.jsonb_build_object(
      'Content-Type', 'application/json', 'Authorization', 'Bearer ' || worker_secret, 'apikey', worker_secret),
    timeout_milliseconds := 120000);
end
$$;
comment on function private.kick_worker(boolean) is 'Wake the worker function through pg_net (URL and key from Vault).';
revoke execute on function private.kick_worker(boolean) from public, anon, authenticated;

select cron.schedule('process-documents', '10 seconds', 'select private.kick_worker(only_if_due => true)');
