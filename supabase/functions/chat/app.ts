import { z } from '@hono/zod-openapi';
import type { ModelMessage } from 'ai';
import { createFunctionApp } from '../_shared/app.ts';
import { limitBody } from '../_shared/body.ts';
import { fromDatabaseError, unwrap } from '../_shared/database-errors.ts';
import type { Embedder } from '../_shared/embeddings/index.ts';
import { ApiError } from '../_shared/errors.ts';
import { IdParamsSchema } from '../_shared/ids.ts';
import type { Llm } from '../_shared/llm/index.ts';
import { createLogger, type Logger } from '../_shared/log.ts';
import { documentedError, intQueryParam } from '../_shared/openapi.ts';
import { currentPlan } from '../_shared/plans.ts';
import { type Client, type UserRouteDeps, userRoute } from '../_shared/routes.ts';
import { answer } from './answer.ts';
import { ServerTiming } from './timing.ts';

/** What the chat app needs: the caller's client (RLS) for everything they own; the service client only to count
 * questions and store answers, which users may not write, and to tell a chat id nobody has from another user's. */
export interface ChatDeps extends UserRouteDeps {
  serviceClient: Client;
  llm: Llm;
  embedder: Embedder;
  logger?: Logger;
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Chunks retrieved per question; default 8. */
  matchCount?: number;
}

const MAX_QUESTION_CHARS = 4000;
const HISTORY_MESSAGES = 10;
const MAX_BODY_BYTES = 1024 * 1024;

const UIMessageSchema = z.looseObject({
  id: z.string().max(200),
  role: z.enum(['user', 'assistant', 'system']),
  parts: z.array(z.looseObject({ type: z.string().max(100) })).max(200),
});

export const ChatRequestSchema = z
  .object({
    id: z.uuid('id must be the chat id, a UUID').openapi({ description: "The chat's id; a new UUID starts a new chat." }),
    messages: z.array(UIMessageSchema).min(1).max(500).openapi({
      description: "useChat's messages; the last is the question (a user message with text parts). History comes from the server.",
    }),
    trigger: z.enum(['submit-message', 'regenerate-message']).optional(),
    messageId: z.string().max(200).optional(),
    document_ids: z.array(z.uuid()).min(1).max(100).optional().openapi({ description: 'Search only these documents.' }),
  })
  .openapi('ChatRequest');

const ChatSchema = z
  .object({ id: z.uuid(), title: z.string(), created_at: z.string(), updated_at: z.string() })
  .openapi('Chat');

const CitationSchema = z.object({
  marker: z.number().int(),
  document_id: z.uuid(),
  chunk_index: z.number().int(),
  name: z.string(),
  page: z.number().int().optional(),
  headings: z.array(z.string()).optional(),
  score: z.number(),
});

const MessageSchema = z
  .object({
    id: z.number().int(),
    role: z.enum(['user', 'assistant', 'system']),
    content: z.string(),
    sources: z.array(CitationSchema),
    status: z.enum(['complete', 'stopped', 'failed']),
    prompt_tokens: z.number().int().nullable(),
    completion_tokens: z.number().int().nullable(),
    created_at: z.string(),
  })
  .openapi('ChatMessage');

const UsageSchema = z
  .object({
    date: z.string().openapi({ description: 'The UTC day counted.', example: '2026-12-01' }),
    used: z.number().int(),
    limit: z.number().int(),
    plan: z.string(),
    resets_at: z.string().openapi({ description: 'When the count starts again (next UTC midnight).' }),
  })
  .openapi('Usage');

const PageQuerySchema = z.object({
  limit: intQueryParam('limit', 1, 100).optional().openapi({ description: 'Page size, 1–100 (default 50).' }),
  before: intQueryParam('before', 1, Number.MAX_SAFE_INTEGER).optional().openapi({ description: 'Messages with a smaller id than this (older).' }),
});

const chatNotFound = (id: string) => new ApiError(404, 'chat_not_found', `Chat ${id} was not found.`);

/**
 * The `chat` function: `POST /chat` answers a question about the caller's documents as a streamed AI SDK UI
 * message (what `@ai-sdk/react`'s `useChat` reads), with citations and the chat's history; routes to list the
 * caller's chats, read a chat's messages (paginated), rename and delete a chat; `GET /chat/usage` tells today's
 * count against the plan's daily limit. Another user's chat is 404, like a missing one.
 */
export function createApp(deps: ChatDeps) {
  const logger = deps.logger ?? createLogger({ function: 'chat' });
  const app = createFunctionApp({
    name: 'chat',
    description: 'Chat with your documents: streamed answers with citations.',
    logger,
    exposeHeaders: ['x-chat-id', 'server-timing'],
  });
  const answerDeps = { ...deps, logger, matchCount: deps.matchCount ?? 8 };

  const ask = userRoute(deps, {
    method: 'post',
    path: '/',
    summary: 'Ask a question; the answer streams back (AI SDK UI message stream, SSE)',
    request: { body: { required: true, content: { 'application/json': { schema: ChatRequestSchema } } } },
    responses: {
      200: {
        description: 'Server-sent events: start, text-start/text-delta/text-end, source-document per citation, finish (or error), [DONE]',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      400: documentedError('validation_failed or invalid_question'),
      404: documentedError('chat_not_found: the id is another user\'s chat'),
      413: documentedError('payload_too_large'),
      429: documentedError('daily_limit_reached, with limit, used and resets_at; Retry-After in seconds'),
    },
  });
  // By its Content-Length, or counted as it arrives when it has none (a chunked body).
  app.use('/', limitBody(MAX_BODY_BYTES, () => new ApiError(413, 'payload_too_large', 'The request body is larger than 1 MiB.')));
  app.openapi(ask, async (c) => {
    const body = c.req.valid('json');
    const text = questionOf(body.messages[body.messages.length - 1]);
    const supabase = c.var.supabase;
    const user = c.var.user;
    const timing = new ServerTiming();
    // Reads keyed on the chat id, at once: is it the caller's (another user's chat is 404 and costs nothing), what
    // came before the question, and which documents the chat searches.
    const [existing, history, attached] = await Promise.all([
      findChat(supabase, deps.serviceClient, body.id),
      historyOf(supabase, body.id),
      body.document_ids ? false : hasAttachedDocuments(supabase, body.id),
    ]);
    timing.mark('chat');
    // Then the count, and only then a new chat is created: a refused question leaves nothing behind.
    await countQuestion(deps.serviceClient, user.id);
    timing.mark('count');
    const chat = existing ?? (await createChat(supabase, body.id, text));
    timing.mark('create');
    const scope = body.document_ids ? { documentIds: body.document_ids } : attached ? { chatId: chat.id } : undefined;
    // The question is stored while it is searched for; the answer, stored last, always comes after it.
    const [, response] = await Promise.all([
      supabase.from('chat_messages').insert({ chat_id: chat.id, role: 'user', content: text }).then(unwrap),
      answer(answerDeps, supabase, { chatId: chat.id, userId: user.id, text, history, scope, signal: c.req.raw.signal }, timing),
    ]);
    response.headers.set('server-timing', timing.header());
    response.headers.set('x-chat-id', chat.id);
    return response as never;
  });

  const listChats = userRoute(deps, {
    method: 'get',
    path: '/chats',
    summary: "The caller's chats, most recently active first",
    request: { query: z.object({ limit: intQueryParam('limit', 1, 100).optional() }) },
    responses: { 200: { description: 'Chats', content: { 'application/json': { schema: z.object({ items: z.array(ChatSchema) }) } } } },
  });
  app.openapi(listChats, async (c) => {
    const { limit = 50 } = c.req.valid('query');
    const items = unwrap(
      await c.var.supabase.from('chats').select('id, title, created_at, updated_at').order('updated_at', { ascending: false }).limit(limit),
    );
    return c.json({ items }, 200);
  });

  const readMessages = userRoute(deps, {
    method: 'get',
    path: '/chats/{id}/messages',
    summary: "A chat's messages, oldest first, one page at a time (newest page first)",
    request: { params: IdParamsSchema, query: PageQuerySchema },
    responses: {
      200: {
        description: 'Messages and the cursor for older ones',
        content: { 'application/json': { schema: z.object({ items: z.array(MessageSchema), next_before: z.number().int().nullable() }) } },
      },
      404: documentedError('chat_not_found'),
    },
  });
  app.openapi(readMessages, async (c) => {
    const { id } = c.req.valid('param');
    const { limit = 50, before } = c.req.valid('query');
    await mustFindChat(c.var.supabase, id);
    let query = c.var.supabase
      .from('chat_messages')
      .select('id, role, content, sources, status, prompt_tokens, completion_tokens, created_at')
      .eq('chat_id', id)
      .order('id', { ascending: false })
      .limit(limit + 1);
    if (before !== undefined) query = query.lt('id', before);
    const rows = unwrap(await query);
    const page = rows.slice(0, limit);
    const items = page.reverse().map((row) => ({ ...row, sources: row.sources as z.infer<typeof CitationSchema>[] }));
    return c.json({ items: items as z.infer<typeof MessageSchema>[], next_before: rows.length > limit ? items[0].id : null }, 200);
  });

  const rename = userRoute(deps, {
    method: 'patch',
    path: '/chats/{id}',
    summary: 'Rename a chat',
    request: {
      params: IdParamsSchema,
      body: { required: true, content: { 'application/json': { schema: z.object({ title: z.string().trim().min(1).max(200) }) } } },
    },
    responses: {
      200: { description: 'The renamed chat', content: { 'application/json': { schema: ChatSchema } } },
      404: documentedError('chat_not_found'),
    },
  });
  app.openapi(rename, async (c) => {
    const { id } = c.req.valid('param');
    const { title } = c.req.valid('json');
    const chat = unwrap(
      await c.var.supabase.from('chats').update({ title }).eq('id', id).select('id, title, created_at, updated_at').maybeSingle(),
    );
    if (!chat) throw chatNotFound(id);
    return c.json(chat, 200);
  });

  const remove = userRoute(deps, {
    method: 'delete',
    path: '/chats/{id}',
    summary: 'Delete a chat and its messages (its documents stay)',
    request: { params: IdParamsSchema },
    responses: { 204: { description: 'Deleted' }, 404: documentedError('chat_not_found') },
  });
  app.openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    const deleted = unwrap(await c.var.supabase.from('chats').delete().eq('id', id).select('id'));
    if (deleted.length === 0) throw chatNotFound(id);
    return c.body(null, 204);
  });

  const usage = userRoute(deps, {
    method: 'get',
    path: '/usage',
    summary: "Today's questions against the plan's daily limit",
    responses: { 200: { description: 'Usage', content: { 'application/json': { schema: UsageSchema } } } },
  });
  app.openapi(usage, async (c) => {
    const date = new Date().toISOString().slice(0, 10);
    const plan = await currentPlan(c.var.supabase);
    const row = unwrap(await c.var.supabase.from('user_daily_usage').select('daily_requests_count').eq('date', date).maybeSingle());
    return c.json({ date, used: row?.daily_requests_count ?? 0, limit: plan.dailyRequestLimit, plan: plan.name, resets_at: nextUtcMidnight().toISOString() }, 200);
  });

  return app;
}

/** The text of the question: the last message must be the user's, with some text. */
function questionOf(message: z.infer<typeof UIMessageSchema>): string {
  const text = message.parts
    .filter((part): part is { type: 'text'; text: string } => part.type === 'text' && typeof (part as { text?: unknown }).text === 'string')
    .map((part) => part.text)
    .join('\n')
    .trim();
  if (message.role !== 'user' || text === '') {
    throw new ApiError(400, 'invalid_question', 'The last message must be a user message with text.');
  }
  if (text.length > MAX_QUESTION_CHARS) {
    throw new ApiError(400, 'invalid_question', `The question is longer than ${MAX_QUESTION_CHARS} characters.`);
  }
  return text;
}

/**
 * The caller's chat with this id, or null when no chat has the id yet; 404 when it is another user's (RLS hides it
 * from the caller, so the service client tells a taken id from a free one; nothing about that chat is read).
 */
async function findChat(supabase: Client, service: Client, id: string): Promise<{ id: string } | null> {
  const own = unwrap(await supabase.from('chats').select('id').eq('id', id).maybeSingle());
  if (own) return own;
  const { count, error } = await service.from('chats').select('id', { count: 'exact', head: true }).eq('id', id);
  if (error) throw fromDatabaseError(error);
  if ((count ?? 0) > 0) throw chatNotFound(id);
  return null;
}

/** Creates the caller's chat with this id, titled after the question. */
async function createChat(supabase: Client, id: string, question: string): Promise<{ id: string }> {
  const title = question.length > 60 ? `${question.slice(0, 59).trimEnd()}…` : question;
  const { data, error } = await supabase.from('chats').insert({ id, title }).select('id').single();
  if (!error) return data;
  if (error.code !== '23505') throw fromDatabaseError(error);
  // Taken since we looked: by a question sent at the same time in the same new chat (then it is the caller's and
  // RLS shows it), or, in theory, by another user (then it stays hidden: 404 as for any chat that is not yours).
  const raced = unwrap(await supabase.from('chats').select('id').eq('id', id).maybeSingle());
  if (!raced) throw chatNotFound(id);
  return raced;
}

async function mustFindChat(supabase: Client, id: string): Promise<void> {
  if (!unwrap(await supabase.from('chats').select('id').eq('id', id).maybeSingle())) throw chatNotFound(id);
}

/** Counts the question against the plan's daily limit, atomically; 429 when the limit is reached. */
async function countQuestion(service: Client, userId: string): Promise<void> {
  const rows = unwrap(await service.rpc('consume_daily_request', { user_id: userId }));
  const usage = rows[0];
  if (!usage.allowed) {
    const resetsAt = new Date(usage.resets_at);
    throw new ApiError(
      429,
      'daily_limit_reached',
      `You have asked all ${usage.daily_limit} questions your ${usage.plan_name} plan allows today. The limit resets at midnight UTC.`,
      {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil((resetsAt.getTime() - Date.now()) / 1000))) },
        facts: { limit: usage.daily_limit, used: usage.used, plan: usage.plan_name, resets_at: resetsAt.toISOString() },
      },
    );
  }
}

/** The chat's last messages (before the question, which is stored after this read), oldest first. */
async function historyOf(supabase: Client, chatId: string): Promise<ModelMessage[]> {
  const rows = unwrap(
    await supabase.from('chat_messages').select('role, content, status').eq('chat_id', chatId).order('id', { ascending: false }).limit(HISTORY_MESSAGES),
  );
  return rows
    .reverse()
    .filter((row) => row.content !== '' && (row.role === 'user' || row.role === 'assistant'))
    .map((row) => ({ role: row.role as 'user' | 'assistant', content: row.content }));
}

async function hasAttachedDocuments(supabase: Client, chatId: string): Promise<boolean> {
  const { count, error } = await supabase.from('documents').select('id', { count: 'exact', head: true }).eq('chat_id', chatId);
  if (error) throw fromDatabaseError(error);
  return (count ?? 0) > 0;
}

function nextUtcMidnight(): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
