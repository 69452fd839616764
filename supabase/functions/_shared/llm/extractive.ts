/**
 * The offline extractive model: a stand-in for a language model that answers by quoting the source sentences
 * that best match the question, so the chat pipeline (retrieval, streaming, citations, usage) works end to end
 * without any model server. Its answers are quotes, not answers; it is meant for development and tests.
 */
import type {
  LanguageModelV4,
  LanguageModelV4CallOptions,
  LanguageModelV4FinishReason,
  LanguageModelV4GenerateResult,
  LanguageModelV4Prompt,
  LanguageModelV4StreamPart,
  LanguageModelV4Usage,
  SharedV4Warning,
} from '@ai-sdk/provider';
// One encoding module, so only its rank table loads; usage is an estimate, any modern encoding would do.
import { countTokens as countCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { rankPassages } from './passages.ts';
import { citationMarker, parseSources, type PromptSource } from './sources.ts';

/** `provider` of the extractive model. */
export const EXTRACTIVE_PROVIDER = 'edgebrain';

/** `modelId` of the extractive model; the name says it is a development stand-in. */
export const EXTRACTIVE_MODEL_ID = 'extractive-dev';

/** The first line of every extractive answer that quotes passages, so nobody mistakes it for a model's answer. */
export const EXTRACTIVE_MODE_LINE =
  'Offline extractive mode (no language model configured): here are the passages that best match your question.';

/** The whole extractive answer when there are no sources or none of them matches the question. */
export const EXTRACTIVE_NO_ANSWER =
  'Offline extractive mode (no language model configured): the documents do not contain an answer to this question.';

/** Most passages one answer quotes. */
export const EXTRACTIVE_MAX_PASSAGES = 3;

/** Options of {@link createExtractiveModel}. */
export interface ExtractiveModelOptions {
  /**
   * Pause before each streamed word, in milliseconds, to imitate a model's pace (e.g. 20 to watch a UI type).
   * Default 0: the stream still yields to the event loop between words, so they arrive as separate chunks.
   */
  delayMs?: number;
}

// Text such as "<|endoftext|>" in a document is counted as ordinary text, never refused.
const AS_TEXT = { disallowedSpecial: new Set<string>() };
const countTokens = (text: string) => (text === '' ? 0 : countCl100k(text, AS_TEXT));

const TEXT_ID = 'text-0';

/**
 * The extractive answer to `question` from `sources`: {@link EXTRACTIVE_MODE_LINE}, a blank line, then up to
 * {@link EXTRACTIVE_MAX_PASSAGES} quoted sentences, one per line as `- "…" [id]`, best match first; or
 * {@link EXTRACTIVE_NO_ANSWER} when nothing matches. Pure and deterministic: the same input always gives the
 * same text, which is what the model streams.
 */
export function extractiveAnswer(sources: readonly PromptSource[], question: string): string {
  const passages = rankPassages(question, sources, { limit: EXTRACTIVE_MAX_PASSAGES });
  if (passages.length === 0) return EXTRACTIVE_NO_ANSWER;
  return [EXTRACTIVE_MODE_LINE, '', ...passages.map((p) => `- "${p.text}" ${citationMarker(p.sourceId)}`)].join('\n');
}

/** The text of a message's content, whatever its shape; files, tool calls and the like contribute nothing. */
function contentText(content: LanguageModelV4Prompt[number]['content']): string {
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' || part.type === 'reasoning' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n');
}

/** What one call computes before any streaming: the answer, its usage estimate and finish reason. */
interface Reply {
  text: string;
  usage: LanguageModelV4Usage;
  finishReason: LanguageModelV4FinishReason;
  warnings: SharedV4Warning[];
}

function reply(options: LanguageModelV4CallOptions): Reply {
  const { prompt } = options;
  // Sources are read from system messages only, so a user cannot smuggle in a "source" to be quoted.
  const sources = parseSources(prompt.filter((m) => m.role === 'system').map((m) => contentText(m.content)).join('\n'));
  const lastUser = prompt.findLast((m) => m.role === 'user');
  const full = extractiveAnswer(sources, lastUser ? contentText(lastUser.content) : '');

  let text = full;
  if (options.maxOutputTokens !== undefined && countTokens(full) > options.maxOutputTokens) {
    text = '';
    for (const piece of words(full)) {
      if (countTokens(text + piece) > options.maxOutputTokens) break;
      text += piece;
    }
  }
  const truncated = text !== full;

  const warnings: SharedV4Warning[] = [];
  if (options.tools?.length) warnings.push({ type: 'unsupported', feature: 'tools', details: 'the extractive model only quotes sources' });
  if (options.responseFormat?.type === 'json') {
    warnings.push({ type: 'unsupported', feature: 'responseFormat', details: 'the extractive model only writes text' });
  }

  const inputTokens = countTokens(prompt.map((m) => contentText(m.content)).join('\n'));
  const outputTokens = countTokens(text);
  return {
    text,
    usage: {
      inputTokens: { total: inputTokens, noCache: inputTokens, cacheRead: 0, cacheWrite: 0 },
      outputTokens: { total: outputTokens, text: outputTokens, reasoning: 0 },
    },
    finishReason: { unified: truncated ? 'length' : 'stop', raw: truncated ? 'length' : 'stop' },
    warnings,
  };
}

/** `text` as streamed: each word with the whitespace before it, so the pieces join back to `text` exactly. */
function words(text: string): string[] {
  return text.match(/\s*\S+/g) ?? [];
}

/** Resolves after `ms` or as soon as `signal` aborts, whichever comes first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Creates the extractive model: an AI SDK language model (specification `v4`, what the installed `ai` expects)
 * with `provider` {@link EXTRACTIVE_PROVIDER} and `modelId` {@link EXTRACTIVE_MODEL_ID}. Each call reads the
 * sources from the system messages ({@link parseSources}) and the question from the last user message, and
 * answers with {@link extractiveAnswer}.
 *
 * `doStream` streams `stream-start`, `text-start`, one `text-delta` per word (produced on demand, one at a time),
 * `text-end` and `finish` with the usage (cl100k token counts of the prompt's text and of the answer) and finish
 * reason `stop` (`length` when `maxOutputTokens` cut the answer). An `abortSignal` that fires errors the stream
 * with its reason and stops it; one already aborted makes `doStream`/`doGenerate` reject with it. Tools and JSON
 * output are not supported (the call warns and answers in text). Nothing is logged.
 */
export function createExtractiveModel(options: ExtractiveModelOptions = {}): LanguageModelV4 {
  const delayMs = options.delayMs ?? 0;
  return {
    specificationVersion: 'v4',
    provider: EXTRACTIVE_PROVIDER,
    modelId: EXTRACTIVE_MODEL_ID,
    supportedUrls: {},

    async doGenerate(call): Promise<LanguageModelV4GenerateResult> {
      call.abortSignal?.throwIfAborted();
      const { text, usage, finishReason, warnings } = reply(call);
      return { content: [{ type: 'text', text }], finishReason, usage, warnings };
    },

    async doStream(call) {
      const signal = call.abortSignal;
      signal?.throwIfAborted();
      const { text, usage, finishReason, warnings } = reply(call);
      const parts: LanguageModelV4StreamPart[] = [
        { type: 'stream-start', warnings },
        { type: 'text-start', id: TEXT_ID },
        ...words(text).map((delta): LanguageModelV4StreamPart => ({ type: 'text-delta', id: TEXT_ID, delta })),
        { type: 'text-end', id: TEXT_ID },
        { type: 'finish', usage, finishReason },
      ];
      let next = 0;
      let stop: (() => void) | undefined;
      const stream = new ReadableStream<LanguageModelV4StreamPart>(
        {
          start(controller) {
            if (!signal) return;
            const onAbort = () => controller.error(signal.reason);
            signal.addEventListener('abort', onAbort, { once: true });
            stop = () => signal.removeEventListener('abort', onAbort);
          },
          async pull(controller) {
            const part = parts[next];
            if (part.type === 'text-delta') {
              await pause(delayMs, signal);
              if (signal?.aborted) return;
            }
            controller.enqueue(part);
            next += 1;
            if (next === parts.length) {
              stop?.();
              controller.close();
            }
          },
          cancel() {
            stop?.();
          },
        },
        // Produce a part only when the reader asks for one: the words really are streamed, not buffered.
        { highWaterMark: 0 },
      );
      return { stream };
    },
  };
}
