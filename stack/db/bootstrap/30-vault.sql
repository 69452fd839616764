-- Hosted Supabase and `supabase start` come with Vault installed (schema vault, extension supabase_vault), so
-- migrations may call vault.create_secret without creating it, and `create extension if not exists supabase_vault
-- with schema vault` (which needs the schema to exist) is a no-op. Here that is the lite stack's own Vault
-- (stack/db/extensions); on a server without any supabase_vault this does nothing.

do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'supabase_vault') then
    create schema if not exists vault;
    create extension if not exists supabase_vault with schema vault;
  end if;
end
$$;
