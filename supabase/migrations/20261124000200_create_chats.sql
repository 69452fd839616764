-- Chats and their messages. Users own their chats; assistant messages and token counts are written by the
-- chat function with the service role, so users can only add their own `user` messages.

create table public.chats (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  title text not null default 'New chat' check (char_length(title) between 1 and 200),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index chats_owner_id_created_at_idx on public.chats (owner_id, created_at desc);
comment on table public.chats is 'A conversation with the assistant over the owner''s documents.';
comment on column public.chats.title is 'Shown in the chat list; 1–200 characters.';

alter table public.chats enable row level security;
revoke all on public.chats from anon, authenticated, service_role;
grant select, delete on public.chats to authenticated;
grant insert (title), update (title) on public.chats to authenticated;
grant all on public.chats to service_role;

-- Owners read, create, rename and delete their own chats.
create policy chats_select_authenticated_own on public.chats for select to authenticated
  using (owner_id = (select auth.uid()));
create policy chats_insert_authenticated_own on public.chats for insert to authenticated
  with check (owner_id = (select auth.uid()));
create policy chats_update_authenticated_own on public.chats for update to authenticated
  using (owner_id = (select auth.uid())) with check (owner_id = (select auth.uid()));
create policy chats_delete_authenticated_own on public.chats for delete to authenticated
  using (owner_id = (select auth.uid()));

create table public.chat_messages (
  id bigint generated always as identity primary key,
  chat_id uuid not null references public.chats (id) on delete cascade,
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  role text not null check (role in ('user', 'assistant', 'system')),
  content text not null check (char_length(content) <= 32000),
  sources jsonb not null default '[]'::jsonb check (jsonb_typeof(sources) = 'array'),
  prompt_tokens integer check (prompt_tokens >= 0),
  completion_tokens integer check (completion_tokens >= 0),
  created_at timestamptz not null default now()
);
create index chat_messages_chat_id_id_idx on public.chat_messages (chat_id, id);
create index chat_messages_owner_id_idx on public.chat_messages (owner_id);
comment on table public.chat_messages is 'Messages of a chat in order; assistant messages carry the sources they cite.';
comment on column public.chat_messages.sources is 'Citations: [{document_id, chunk_index, name, similarity}].';
comment on column public.chat_messages.prompt_tokens is 'Tokens sent to the model for this answer (assistant messages).';
comment on column public.chat_messages.completion_tokens is 'Tokens the model produced for this answer (assistant messages).';

alter table public.chat_messages enable row level security;
revoke all on public.chat_messages from anon, authenticated, service_role;
grant select on public.chat_messages to authenticated;
grant insert (chat_id, role, content) on public.chat_messages to authenticated;
grant all on public.chat_messages to service_role;

-- Owners read the messages of their chats.
create policy chat_messages_select_authenticated_own on public.chat_messages for select to authenticated
  using (owner_id = (select auth.uid()));
-- Owners add `user` messages to their own chats only.
create policy chat_messages_insert_authenticated_own on public.chat_messages for insert to authenticated
  with check (
    owner_id = (select auth.uid())
    and role = 'user'
    and exists (select 1 from public.chats c where c.id = chat_id and c.owner_id = (select auth.uid()))
  );
