-- Documents a user uploaded and the chunks the worker cut them into. Rows are created and removed by
-- triggers on storage.objects (see create_document_ingestion), never by users directly, so a row always has
-- its file and a file always has its row.

create extension if not exists vector with schema extensions;

create type public.document_status as enum ('queued', 'processing', 'ready', 'failed');
comment on type public.document_status is 'queued → processing → ready | failed; reprocessing goes back to queued.';

create table public.documents (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null references auth.users (id) on delete cascade,
  bucket_id text not null default 'documents',
  storage_path text not null,
  name text not null,
  mime_type text,
  size_bytes bigint check (size_bytes >= 0),
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  chat_id uuid references public.chats (id) on delete set null,
  status public.document_status not null default 'queued',
  error text,
  chunk_count integer not null default 0 check (chunk_count >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  processed_at timestamptz,
  constraint documents_bucket_id_storage_path_key unique (bucket_id, storage_path)
);
create index documents_owner_id_created_at_idx on public.documents (owner_id, created_at desc);
create index documents_chat_id_idx on public.documents (chat_id);
comment on table public.documents is 'An uploaded file and where its processing stands.';
comment on column public.documents.storage_path is 'Object name in the bucket: {owner_id}/{file name}.';
comment on column public.documents.name is 'File name as stored (sanitised).';
comment on column public.documents.sha256 is 'Hex SHA-256 of the content, filled in by the worker.';
comment on column public.documents.chat_id is 'Chat the document was uploaded into, if any.';
comment on column public.documents.status is 'Processing state; set by the system only.';
comment on column public.documents.error is 'Why processing failed, when status is failed.';
comment on column public.documents.chunk_count is 'Chunks stored for search once ready.';

alter table public.documents enable row level security;
revoke all on public.documents from anon, authenticated, service_role;
grant select on public.documents to authenticated;
grant all on public.documents to service_role;

-- Owners read their own documents. Creating, changing and deleting go through Storage (triggers).
create policy documents_select_authenticated_own on public.documents for select to authenticated
  using (owner_id = (select auth.uid()));

create table public.document_chunks (
  id bigint generated always as identity primary key,
  document_id uuid not null references public.documents (id) on delete cascade,
  owner_id uuid not null references auth.users (id) on delete cascade,
  chunk_index integer not null check (chunk_index >= 0),
  content text not null,
  token_count integer not null check (token_count >= 0),
  metadata jsonb not null default '{}'::jsonb,
  embedding extensions.vector(384),
  created_at timestamptz not null default now(),
  constraint document_chunks_document_id_chunk_index_key unique (document_id, chunk_index)
);
create index document_chunks_owner_id_idx on public.document_chunks (owner_id);
create index document_chunks_embedding_idx on public.document_chunks
  using hnsw (embedding extensions.vector_cosine_ops);
comment on table public.document_chunks is 'Searchable pieces of a document with their embeddings (gte-small, 384 dimensions).';
comment on column public.document_chunks.metadata is 'Where the chunk came from, e.g. {"page": 3}.';
comment on column public.document_chunks.embedding is 'Normalised gte-small embedding; compared by cosine distance.';

alter table public.document_chunks enable row level security;
revoke all on public.document_chunks from anon, authenticated, service_role;
grant select on public.document_chunks to authenticated;
grant all on public.document_chunks to service_role;

-- Owners read (and search) their own chunks; only the worker writes them.
create policy document_chunks_select_authenticated_own on public.document_chunks for select to authenticated
  using (owner_id = (select auth.uid()));
