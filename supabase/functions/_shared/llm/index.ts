import type { LanguageModelV4 } from '@ai-sdk/provider';
import type { Logger } from '../log.ts';
import type { LlmConfig } from './config.ts';

export {
  DEFAULT_LLM_BASE_URL,
  type ExtractiveLlmConfig,
  LLM_PROVIDERS,
  type LlmConfig,
  type LlmEnv,
  LlmEnvSchema,
  type LlmProvider,
  llmConfig,
  type OpenAILlmConfig,
} from './config.ts';
export { citationMarker, citedSourceIds, formatSources, parseSources, type PromptSource } from './sources.ts';

/** Call settings from the environment, to spread into `streamText`; only the ones that are set are present. */
export interface LlmCallSettings {
  maxOutputTokens?: number;
  temperature?: number;
}

/**
 * The chat models the config chose, ready for the AI SDK:
 * `streamText({ model: llm.model, ...llm.callSettings, timeout: llm.timeoutMs, system, messages, abortSignal })`.
 */
export interface Llm {
  /** `openai:<LLM_MODEL>` or `edgebrain:extractive-dev`, for logs. */
  readonly id: string;
  /** Writes the answers. */
  readonly model: LanguageModelV4;
  /**
   * Rewrites a follow-up question into a standalone one (`LLM_CONDENSE_MODEL`, else the same model as
   * {@link model}). Absent for the extractive model, which cannot rewrite: search with the question as asked.
   */
  readonly condenseModel?: LanguageModelV4;
  /** `LLM_MAX_OUTPUT_TOKENS` and `LLM_TEMPERATURE`, when set (only for `openai`). */
  readonly callSettings: LlmCallSettings;
  /** `LLM_TIMEOUT_MS`: pass it as `streamText`'s `timeout` (or to `AbortSignal.timeout`); absent when unset. */
  readonly timeoutMs?: number;
}

/** What {@link createLanguageModel} takes besides the config. */
export interface LanguageModelDeps {
  logger: Logger;
  /** `openai`: fetch for every request; default global fetch. */
  fetch?: typeof fetch;
}

/** `url` without user name and password, which may hold credentials, for a log line. */
function loggableUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.href.replace(/\/+$/, '');
}

/**
 * Builds the {@link Llm} the config chooses. Call it once at start-up, after {@link llmConfig}. Logs one line:
 * which model answers (info), or for the extractive model a warning that it is a dev-only stand-in. Provider
 * modules are imported on demand, so a function using `openai` never loads the extractive model's tokenizer.
 */
export async function createLanguageModel(config: LlmConfig, deps: LanguageModelDeps): Promise<Llm> {
  if (config.provider === 'extractive') {
    const { createExtractiveModel } = await import('./extractive.ts');
    const model = createExtractiveModel();
    const id = `${model.provider}:${model.modelId}`;
    deps.logger.log(
      'warn',
      `llm: using ${id}, a dev-only stand-in that quotes the best-matching passages instead of answering; ` +
        'set LLM_PROVIDER=openai and LLM_MODEL (with LLM_BASE_URL and LLM_API_KEY as your server needs) for real answers',
      { llm: id },
    );
    return { id, model, callSettings: {}, timeoutMs: config.timeoutMs };
  }

  const { createOpenAIChatModels } = await import('./openai.ts');
  const { model, condenseModel } = createOpenAIChatModels(config, { fetch: deps.fetch });
  const id = `openai:${config.model}`;
  const callSettings: LlmCallSettings = {};
  if (config.maxOutputTokens !== undefined) callSettings.maxOutputTokens = config.maxOutputTokens;
  if (config.temperature !== undefined) callSettings.temperature = config.temperature;
  deps.logger.log('info', `llm: using ${id} at ${loggableUrl(config.baseUrl)}`, {
    llm: id,
    condense_model: config.condenseModel,
    base_url: loggableUrl(config.baseUrl),
  });
  return { id, model, condenseModel, callSettings, timeoutMs: config.timeoutMs };
}
