-- Supabase Vault's SQL surface for the lite stack, written from Vault's documented contract (README, 0.3): the
-- secrets table, the decrypted_secrets view, create_secret/update_secret and the privileges Supabase grants.
-- Not encrypted at rest: `secret` holds the value base64-encoded, so readers must go through decrypted_secrets as
-- on hosted Supabase, but anyone who can read the table can decode it. A development database holds no real
-- secrets and has no key management to protect them with.

create table vault.secrets (
  id uuid primary key default pg_catalog.gen_random_uuid(),
  name text,
  description text not null default '',
  secret text not null,
  key_id uuid,
  nonce bytea default pg_catalog.uuid_send(pg_catalog.gen_random_uuid()),
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
comment on table vault.secrets is
  'Table with encoded `secret` column for storing sensitive information (lite stack: encoded, not encrypted).';
create unique index secrets_name_idx on vault.secrets using btree (name) where name is not null;
select pg_catalog.pg_extension_config_dump('vault.secrets', '');

create function vault._lite_encode(plain text) returns text
language sql immutable strict
set search_path = ''
as $$
  select pg_catalog.translate(pg_catalog.encode(pg_catalog.convert_to(plain, 'UTF8'), 'base64'), E'\n', '')
$$;

-- Null when the stored value does not decode (e.g. plain text inserted into the table directly).
create function vault._lite_decode(encoded text) returns text
language plpgsql immutable strict
set search_path = ''
as $$
begin
  return pg_catalog.convert_from(pg_catalog.decode(encoded, 'base64'), 'UTF8');
exception
  when invalid_parameter_value or character_not_in_repertoire or untranslatable_character then
    return null;
end
$$;

create view vault.decrypted_secrets as
select s.id,
       s.name,
       s.description,
       s.secret,
       vault._lite_decode(s.secret) as decrypted_secret,
       s.key_id,
       s.nonce,
       s.created_at,
       s.updated_at
  from vault.secrets s;

create function vault.create_secret(
  new_secret text,
  new_name text default null,
  new_description text default '',
  -- unused, as upstream
  new_key_id uuid default null
) returns uuid
language plpgsql volatile
security definer
set search_path = ''
as $$
declare
  new_id uuid;
begin
  insert into vault.secrets as s (secret, name, description)
  values (vault._lite_encode($1), $2, $3)
  returning s.id into new_id;
  return new_id;
end
$$;

create function vault.update_secret(
  secret_id uuid,
  new_secret text default null,
  new_name text default null,
  new_description text default null,
  -- unused, as upstream
  new_key_id uuid default null
) returns void
language plpgsql volatile
security definer
set search_path = ''
as $$
begin
  update vault.secrets s
     set secret = coalesce(vault._lite_encode($2), s.secret),
         name = coalesce($3, s.name),
         description = coalesce($4, s.description),
         updated_at = pg_catalog.now()
   where s.id operator(pg_catalog.=) $1;
end
$$;

revoke all on function vault._lite_encode(text), vault._lite_decode(text),
  vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) from public;

-- What Supabase grants after creating the extension: postgres and service_role manage secrets; anon and
-- authenticated get nothing.
do $$
declare
  grantee text;
begin
  foreach grantee in array array['postgres', 'service_role'] loop
    if exists (select 1 from pg_catalog.pg_roles r where r.rolname operator(pg_catalog.=) grantee) then
      execute pg_catalog.format('grant usage on schema vault to %I', grantee);
      execute pg_catalog.format('grant select, delete on vault.secrets, vault.decrypted_secrets to %I', grantee);
      execute pg_catalog.format(
        'grant execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid), vault._lite_decode(text) to %I',
        grantee);
    end if;
  end loop;
end
$$;
