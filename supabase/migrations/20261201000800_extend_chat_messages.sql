-- What the chat function needs from chats and messages:
-- * a browser app names a new chat itself (useChat sends its id with the first message), so users may insert
--   the id of their own chat (the primary key refuses a taken one);
-- * an answer the user stopped, or one the model failed to finish, is kept with what was generated and says so.

grant insert (id) on public.chats to authenticated;

alter table public.chat_messages
  add column status text not null default 'complete' check (status in ('complete', 'stopped', 'failed'));
comment on column public.chat_messages.status is 'complete, or stopped (the user closed the stream) / failed (the model failed) with what was generated.';
