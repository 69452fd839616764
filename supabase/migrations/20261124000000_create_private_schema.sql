-- Schema for internal tables and helpers (job queue, webhook event log). It is not in `[api] schemas`, so the
-- Data API never exposes it, and the API roles get no privileges on it.
create schema if not exists private;
revoke all on schema private from public, anon, authenticated;
grant usage on schema private to service_role;
comment on schema private is 'Internal tables and helpers; never exposed through the Data API.';
