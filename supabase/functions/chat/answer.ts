import type { LanguageModelV4 } from '@ai-sdk/provider';
import { createUIMessageStream, createUIMessageStreamResponse, type FinishReason, generateText, type ModelMessage, streamText, type UIMessageStreamWriter } from 'ai';
import { unwrap } from '../_shared/database-errors.ts';
import type { Embedder } from '../_shared/embeddings/index.ts';
import { citedSourceIds, formatSources, type Llm, type PromptSource } from '../_shared/llm/index.ts';
import { errorFields, type Logger } from '../_shared/log.ts';
import type { Client } from '../_shared/routes.ts';
import type { ServerTiming } from './timing.ts';

/** One retrieved chunk, as `match_document_chunks` returns it. */
export interface Hit {
  chunk_id: number;
  document_id: string;
  document_name: string;
  chunk_index: number;
  content: string;
  metadata: { page?: number; headings?: string[]; rows?: { from: number; to: number } } & Record<string, unknown>;
  score: number;
}

/** A citation as stored with the assistant message and sent as a `source-document` part. */
export interface Citation {
  marker: number;
  document_id: string;
  chunk_index: number;
  name: string;
  page?: number;
  headings?: string[];
  score: number;
}

/** What answering needs. */
export interface AnswerDeps {
  llm: Llm;
  embedder: Embedder;
  logger: Logger;
  /** The service client: only to store the assistant's message, which users may not write. */
  serviceClient: Client;
  /** Keeps the function alive until the answer is stored, after the response ended (hosted: EdgeRuntime.waitUntil). */
  waitUntil?: (promise: Promise<unknown>) => void;
  /** Chunks retrieved per question. */
  matchCount: number;
}

/** One question in a chat, with what came before it. */
export interface Question {
  chatId: string;
  userId: string;
  text: string;
  history: ModelMessage[];
  /** Search only these documents; `chat` = the documents attached to the chat; undefined = all of the caller's. */
  scope: { documentIds: string[] } | { chatId: string } | undefined;
  signal: AbortSignal;
}

const INSTRUCTIONS = [
  "You answer questions about the user's documents, using only the numbered sources below.",
  'Cite the sources each statement comes from with their numbers in square brackets, e.g. [1] or [2][3].',
  'If the sources do not contain the answer, say that the documents do not contain it; do not guess or use other knowledge.',
  'Answer in the language of the question.',
].join(' ');

const CONDENSE = [
  'Rewrite the last question of this conversation as one standalone question that can be understood without the',
  'conversation (resolve pronouns and references). Answer with the question only.',
].join(' ');

/**
 * Answers a question as an AI SDK UI message stream (`x-vercel-ai-ui-message-stream: v1`): `start`, the answer
 * as `text-start`/`text-delta`/`text-end`, one `source-document` per cited chunk, `finish` — or an `error` part
 * when the model fails, never a hanging stream. Retrieval runs as the caller (`supabase`, RLS), so citations
 * only ever point at the caller's documents. The answer is stored when the stream ends: complete, `stopped`
 * (the client went away: the model request is aborted) or `failed`, with what was generated.
 */
export async function answer(deps: AnswerDeps, supabase: Client, question: Question, timing?: ServerTiming): Promise<Response> {
  const query = await standaloneQuestion(deps, question);
  timing?.mark('condense');
  const [embedding] = await deps.embedder.embed([query]);
  timing?.mark('embed');
  const hits = unwrap(
    await supabase.rpc('match_document_chunks', {
      query_embedding: JSON.stringify(embedding),
      query_text: query,
      match_count: deps.matchCount,
      embedder: deps.embedder.id,
      ...(question.scope && 'documentIds' in question.scope ? { document_ids: question.scope.documentIds } : {}),
      ...(question.scope && 'chatId' in question.scope ? { chat_id: question.scope.chatId } : {}),
    }),
  ) as Hit[];
  timing?.mark('search');
  const sources: PromptSource[] = hits.map((hit, i) => ({
    id: i + 1,
    document: hit.document_name,
    ...(hit.metadata.page !== undefined ? { page: hit.metadata.page } : {}),
    text: hit.content,
  }));

  const stream = createUIMessageStream({
    execute: async ({ writer }) => {
      const outcome = await streamAnswer(deps, question, sources, writer);
      const citations = citationsOf(hits, outcome.text);
      if (outcome.status === 'complete') {
        for (const citation of citations) writer.write(sourcePart(citation));
        writer.write({ type: 'finish', finishReason: outcome.finishReason });
      }
      const stored = store(deps, question, outcome, citations);
      deps.waitUntil?.(stored);
      await stored;
    },
  });
  return createUIMessageStreamResponse({ stream });
}

interface Outcome {
  status: 'complete' | 'stopped' | 'failed';
  text: string;
  finishReason?: FinishReason;
  promptTokens?: number;
  completionTokens?: number;
}

/** Streams the model's answer into `writer`, and reports how it ended with what it said. */
async function streamAnswer(deps: AnswerDeps, question: Question, sources: PromptSource[], writer: UIMessageStreamWriter): Promise<Outcome> {
  const outcome: Outcome = { status: 'complete', text: '' };
  const result = streamText({
    model: deps.llm.model as LanguageModelV4,
    ...deps.llm.callSettings,
    ...(deps.llm.timeoutMs ? { timeout: deps.llm.timeoutMs } : {}),
    system: `${INSTRUCTIONS}\n\n${formatSources(sources)}`,
    messages: [...question.history, { role: 'user', content: question.text }],
    abortSignal: question.signal,
    maxRetries: 1,
    onError: () => {},
  });
  writer.write({ type: 'start' });
  for await (const part of result.fullStream) {
    switch (part.type) {
      case 'start-step':
        writer.write({ type: 'start-step' });
        break;
      case 'finish-step':
        writer.write({ type: 'finish-step' });
        break;
      case 'text-start':
        writer.write({ type: 'text-start', id: part.id });
        break;
      case 'text-delta':
        outcome.text += part.text;
        writer.write({ type: 'text-delta', id: part.id, delta: part.text });
        break;
      case 'text-end':
        writer.write({ type: 'text-end', id: part.id });
        break;
      case 'error':
        outcome.status = 'failed';
        deps.logger.log('error', 'the language model failed', errorFields(part.error));
        writer.write({ type: 'error', errorText: 'The language model failed to answer. Try again in a moment.' });
        break;
      case 'abort':
        // The client went away (or the model timed out): the request to the model is already aborted.
        if (outcome.status === 'complete') outcome.status = question.signal.aborted ? 'stopped' : 'failed';
        if (outcome.status === 'failed') writer.write({ type: 'error', errorText: 'The language model took too long to answer. Try again.' });
        break;
      case 'finish':
        outcome.finishReason = part.finishReason;
        outcome.promptTokens = part.totalUsage.inputTokens;
        outcome.completionTokens = part.totalUsage.outputTokens;
        break;
    }
  }
  return outcome;
}

/** The follow-up rewritten as a standalone question for retrieval, when there is history and a model to do it. */
async function standaloneQuestion(deps: AnswerDeps, question: Question): Promise<string> {
  if (question.history.length === 0 || !deps.llm.condenseModel) return question.text;
  try {
    const { text } = await generateText({
      model: deps.llm.condenseModel,
      system: CONDENSE,
      messages: [...question.history, { role: 'user', content: question.text }],
      abortSignal: question.signal,
      maxRetries: 1,
      ...(deps.llm.timeoutMs ? { timeout: deps.llm.timeoutMs } : {}),
    });
    return text.trim() || question.text;
  } catch (error) {
    // Retrieval with the question as asked is worse, not wrong: go on.
    deps.logger.log('warn', 'condensing the question failed; searching with it as asked', errorFields(error));
    return question.text;
  }
}

/** The retrieved chunks the answer cites, by their `[n]` markers, each once. */
function citationsOf(hits: Hit[], text: string): Citation[] {
  return citedSourceIds(text)
    .filter((marker) => marker >= 1 && marker <= hits.length)
    .map((marker) => {
      const hit = hits[marker - 1];
      return {
        marker,
        document_id: hit.document_id,
        chunk_index: hit.chunk_index,
        name: hit.document_name,
        ...(hit.metadata.page !== undefined ? { page: hit.metadata.page } : {}),
        ...(hit.metadata.headings?.length ? { headings: hit.metadata.headings } : {}),
        score: hit.score,
      };
    });
}

/** A `source-document` part: the document's name as title, where in it (page, headings) as metadata. */
function sourcePart(citation: Citation) {
  return {
    type: 'source-document' as const,
    sourceId: `${citation.document_id}:${citation.chunk_index}`,
    mediaType: 'text/plain',
    title: citation.page !== undefined ? `${citation.name}, page ${citation.page}` : citation.name,
    filename: citation.name,
    providerMetadata: { edgebrain: { ...citation } },
  };
}

async function store(deps: AnswerDeps, question: Question, outcome: Outcome, citations: Citation[]): Promise<void> {
  const { error } = await deps.serviceClient.from('chat_messages').insert({
    chat_id: question.chatId,
    owner_id: question.userId,
    role: 'assistant',
    content: outcome.text,
    sources: citations as never,
    status: outcome.status,
    prompt_tokens: outcome.promptTokens ?? null,
    completion_tokens: outcome.completionTokens ?? null,
  });
  if (error) deps.logger.log('error', 'the answer could not be stored', errorFields(error));
  const touched = await deps.serviceClient.from('chats').update({ updated_at: new Date().toISOString() }).eq('id', question.chatId);
  if (touched.error) deps.logger.log('warn', 'the chat could not be touched', errorFields(touched.error));
}
