import { z } from 'zod';
import { EnvError, optionalVar } from '../env.ts';

/** The chat models `LLM_PROVIDER` can choose. */
export const LLM_PROVIDERS = ['extractive', 'openai'] as const;

/** One of {@link LLM_PROVIDERS}. */
export type LlmProvider = (typeof LLM_PROVIDERS)[number];

/** The OpenAI API; any OpenAI-compatible chat-completions server (Ollama, vLLM, OpenRouter, LM Studio) can replace it. */
export const DEFAULT_LLM_BASE_URL = 'https://api.openai.com/v1';


/**
 * The `LLM_*` variables. Functions that chat merge it into their schema, then derive the config:
 * `llmConfig(parseEnv(SupabaseEnvSchema.extend(LlmEnvSchema.shape), readEnv()))`.
 */
export const LlmEnvSchema = z.object({
  /** Which chat model: `extractive` (default, offline and dev-only) or `openai` (any OpenAI-compatible API). */
  LLM_PROVIDER: optionalVar(z.enum(LLM_PROVIDERS, { error: `expected one of ${LLM_PROVIDERS.join(', ')}` })),
  /** `openai`: base URL of an OpenAI-compatible API; default {@link DEFAULT_LLM_BASE_URL}. */
  LLM_BASE_URL: optionalVar(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://127.0.0.1:11434/v1' })),
  /** `openai`: bearer token; required for api.openai.com, optional elsewhere (e.g. Ollama). */
  LLM_API_KEY: optionalVar(z.string().min(1)),
  /** `openai`: the model that writes answers, e.g. `gpt-4o-mini` or Ollama's `llama3.2`. */
  LLM_MODEL: optionalVar(z.string().trim().min(1)),
  /** `openai`: the model that rewrites follow-up questions into standalone ones; default `LLM_MODEL`. */
  LLM_CONDENSE_MODEL: optionalVar(z.string().trim().min(1)),
  /** `openai`: cap on the tokens of one answer (`max_tokens`); default the server's. */
  LLM_MAX_OUTPUT_TOKENS: optionalVar(z.coerce.number().int().min(1)),
  /** `openai`: sampling temperature, 0 to 2; default the server's. */
  LLM_TEMPERATURE: optionalVar(z.coerce.number().min(0).max(2)),
  /** Per-request timeout in milliseconds for a model call; default none (the platform's wall clock still applies). */
  LLM_TIMEOUT_MS: optionalVar(
    z.coerce.number().int().min(1).max(400_000, 'must be at most 400000: edge functions stop after 400 s of wall clock'),
  ),
});

/** The raw variables as parsed by {@link LlmEnvSchema}. */
export type LlmEnv = z.output<typeof LlmEnvSchema>;

/** Settings of the offline extractive model. */
export interface ExtractiveLlmConfig {
  provider: 'extractive';
  /** `LLM_TIMEOUT_MS`, if set. */
  timeoutMs?: number;
}

/** Settings of the `openai` provider (any OpenAI-compatible chat-completions API). */
export interface OpenAILlmConfig {
  provider: 'openai';
  /** Without a trailing slash; requests go to `${baseUrl}/chat/completions`. */
  baseUrl: string;
  apiKey?: string;
  /** The model that writes answers. */
  model: string;
  /** The model that condenses follow-up questions (`LLM_CONDENSE_MODEL`, else {@link model}). */
  condenseModel: string;
  maxOutputTokens?: number;
  temperature?: number;
  /** `LLM_TIMEOUT_MS`, if set. */
  timeoutMs?: number;
}

/** What `createLanguageModel` needs, derived once from the environment by {@link llmConfig}. */
export type LlmConfig = ExtractiveLlmConfig | OpenAILlmConfig;

const IMPLIES_A_PROVIDER = ['LLM_MODEL', 'LLM_BASE_URL', 'LLM_API_KEY', 'LLM_CONDENSE_MODEL'] as const;

/**
 * Derives the {@link LlmConfig} from parsed variables, checking what depends on the provider. Throws
 * {@link EnvError} naming each variable to fix: `openai` without `LLM_MODEL`, api.openai.com without
 * `LLM_API_KEY`, and provider settings without `LLM_PROVIDER` (which would otherwise fall back to the offline
 * extractive model, so a typo in the provider's name never goes unnoticed).
 */
export function llmConfig(env: LlmEnv): LlmConfig {
  const problems: Array<{ name: string; text: string }> = [];

  if (env.LLM_PROVIDER === undefined) {
    const set = IMPLIES_A_PROVIDER.filter((name) => env[name] !== undefined);
    if (set.length > 0) {
      problems.push({
        name: 'LLM_PROVIDER',
        text: `LLM_PROVIDER is missing: ${set.join(', ')} ${set.length === 1 ? 'is' : 'are'} set, but without a provider the offline extractive model would be used (set LLM_PROVIDER=openai, or extractive to keep it)`,
      });
    }
  }

  let config: LlmConfig = { provider: 'extractive', timeoutMs: env.LLM_TIMEOUT_MS };
  if (env.LLM_PROVIDER === 'openai') {
    const baseUrl = (env.LLM_BASE_URL ?? DEFAULT_LLM_BASE_URL).replace(/\/+$/, '');
    if (!env.LLM_MODEL) {
      problems.push({
        name: 'LLM_MODEL',
        text: 'LLM_MODEL is missing: LLM_PROVIDER=openai needs a chat model name, e.g. gpt-4o-mini (or llama3.2 on Ollama)',
      });
    }
    if (!env.LLM_API_KEY && new URL(baseUrl).hostname === 'api.openai.com') {
      problems.push({
        name: 'LLM_API_KEY',
        text: `LLM_API_KEY is missing: ${baseUrl} needs an API key (set LLM_BASE_URL for a server without one, e.g. Ollama)`,
      });
    }
    const model = env.LLM_MODEL ?? '';
    config = {
      provider: 'openai',
      baseUrl,
      apiKey: env.LLM_API_KEY,
      model,
      condenseModel: env.LLM_CONDENSE_MODEL ?? model,
      maxOutputTokens: env.LLM_MAX_OUTPUT_TOKENS,
      temperature: env.LLM_TEMPERATURE,
      timeoutMs: env.LLM_TIMEOUT_MS,
    };
  }

  if (problems.length > 0) {
    throw new EnvError(
      [...new Set(problems.map((p) => p.name))],
      `Invalid environment: ${problems.map((p) => p.text).join('; ')}`,
    );
  }
  return config;
}
