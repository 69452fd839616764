import { describe, expect, it } from 'vitest';
import { EnvError, parseEnv, SupabaseEnvSchema } from '../../../../supabase/functions/_shared/env.ts';
import { llmConfig, LlmEnvSchema } from '../../../../supabase/functions/_shared/llm/index.ts';
import { envErrorOf } from '../../../helpers/env.ts';

/** What an entry file does: parse the variables, then derive the config; both steps may throw EnvError. */
function configFrom(source: Record<string, string | undefined>) {
  return llmConfig(parseEnv(LlmEnvSchema, source));
}

function failure(source: Record<string, string | undefined>): EnvError {
  return envErrorOf(() => configFrom(source));
}

describe('llmConfig', () => {
  it('defaults to the extractive model when nothing is set', () => {
    expect(configFrom({})).toStrictEqual({ provider: 'extractive', timeoutMs: undefined });
  });

  it('treats blank variables as unset, as in an .env template', () => {
    expect(configFrom({ LLM_PROVIDER: '', LLM_MODEL: '', LLM_API_KEY: '', LLM_BASE_URL: '', LLM_TIMEOUT_MS: '' })).toStrictEqual({
      provider: 'extractive',
      timeoutMs: undefined,
    });
  });

  it('keeps the timeout for the extractive model', () => {
    expect(configFrom({ LLM_TIMEOUT_MS: '30000' })).toStrictEqual({ provider: 'extractive', timeoutMs: 30000 });
  });

  it('derives the openai settings with their defaults, condensing with the answer model', () => {
    expect(configFrom({ LLM_PROVIDER: 'openai', LLM_MODEL: 'gpt-4o-mini', LLM_API_KEY: 'sk-x' })).toStrictEqual({
      provider: 'openai',
      baseUrl: 'https://api.openai.com/v1',
      apiKey: 'sk-x',
      model: 'gpt-4o-mini',
      condenseModel: 'gpt-4o-mini',
      maxOutputTokens: undefined,
      temperature: undefined,
      timeoutMs: undefined,
    });
  });

  it('accepts a keyless local server such as Ollama with every optional setting', () => {
    expect(
      configFrom({
        LLM_PROVIDER: 'openai',
        LLM_BASE_URL: 'http://127.0.0.1:11434/v1/',
        LLM_MODEL: 'llama3.2',
        LLM_CONDENSE_MODEL: 'llama3.2:1b',
        LLM_MAX_OUTPUT_TOKENS: '800',
        LLM_TEMPERATURE: '0.2',
        LLM_TIMEOUT_MS: '60000',
      }),
    ).toStrictEqual({
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      model: 'llama3.2',
      condenseModel: 'llama3.2:1b',
      maxOutputTokens: 800,
      temperature: 0.2,
      timeoutMs: 60000,
    });
  });

  it('accepts temperature 0, which is falsy but a real setting', () => {
    expect(configFrom({ LLM_PROVIDER: 'openai', LLM_MODEL: 'm', LLM_API_KEY: 'k', LLM_TEMPERATURE: '0' })).toMatchObject({ temperature: 0 });
  });

  it('fails naming LLM_PROVIDER when it is unknown', () => {
    const error = failure({ LLM_PROVIDER: 'anthropic' });
    expect(error.variables).toEqual(['LLM_PROVIDER']);
    expect(error.message).toBe('Invalid environment: LLM_PROVIDER is malformed: expected one of extractive, openai');
  });

  it('fails naming LLM_MODEL when openai has no model', () => {
    const error = failure({ LLM_PROVIDER: 'openai', LLM_API_KEY: 'sk-x' });
    expect(error.variables).toEqual(['LLM_MODEL']);
    expect(error.message).toContain('LLM_MODEL is missing: LLM_PROVIDER=openai needs a chat model name');
  });

  it('fails naming LLM_API_KEY when the OpenAI API is used without a key', () => {
    const error = failure({ LLM_PROVIDER: 'openai', LLM_MODEL: 'gpt-4o-mini' });
    expect(error.variables).toEqual(['LLM_API_KEY']);
    expect(error.message).toContain('LLM_API_KEY is missing: https://api.openai.com/v1 needs an API key');
  });

  it('names every openai problem at once', () => {
    expect(failure({ LLM_PROVIDER: 'openai' }).variables).toEqual(['LLM_MODEL', 'LLM_API_KEY']);
  });

  it('fails naming LLM_PROVIDER when model settings are set without it, never echoing the key', () => {
    const error = failure({ LLM_MODEL: 'gpt-4o-mini', LLM_BASE_URL: 'https://openrouter.ai/api/v1', LLM_API_KEY: 'sk-secret-value' });
    expect(error.variables).toEqual(['LLM_PROVIDER']);
    expect(error.message).toContain('LLM_MODEL, LLM_BASE_URL, LLM_API_KEY are set, but without a provider the offline extractive model');
    expect(error.message).not.toContain('sk-secret-value');
  });

  it('fails naming LLM_PROVIDER when only the condense model is set', () => {
    expect(failure({ LLM_CONDENSE_MODEL: 'gpt-4o-mini' }).variables).toEqual(['LLM_PROVIDER']);
  });

  it('keeps the extractive model when it is chosen explicitly beside other settings', () => {
    expect(configFrom({ LLM_PROVIDER: 'extractive', LLM_MODEL: 'gpt-4o-mini' })).toStrictEqual({
      provider: 'extractive',
      timeoutMs: undefined,
    });
  });

  it('rejects malformed numbers and URLs, naming each and echoing none', () => {
    const error = failure({
      LLM_PROVIDER: 'openai',
      LLM_MODEL: 'm',
      LLM_BASE_URL: 'ftp://models.example',
      LLM_MAX_OUTPUT_TOKENS: '0',
      LLM_TEMPERATURE: '2.5',
      LLM_TIMEOUT_MS: 'soonish',
    });
    expect(error.variables).toEqual(['LLM_BASE_URL', 'LLM_MAX_OUTPUT_TOKENS', 'LLM_TEMPERATURE', 'LLM_TIMEOUT_MS']);
    expect(error.message).not.toContain('ftp://models.example');
    expect(error.message).not.toContain('soonish');
  });

  it('refuses a timeout beyond the edge runtime wall clock', () => {
    const error = failure({ LLM_TIMEOUT_MS: '600000' });
    expect(error.variables).toEqual(['LLM_TIMEOUT_MS']);
    expect(error.message).toContain('must be at most 400000');
  });

  it('merges into a function schema next to the platform variables', () => {
    const env = parseEnv(SupabaseEnvSchema.extend(LlmEnvSchema.shape), {
      SUPABASE_URL: 'http://127.0.0.1:54321',
      SUPABASE_ANON_KEY: 'anon',
      SUPABASE_SERVICE_ROLE_KEY: 'service',
      LLM_PROVIDER: 'openai',
      LLM_BASE_URL: 'http://127.0.0.1:1234/v1',
      LLM_MODEL: 'qwen2.5-7b-instruct',
    });
    expect(llmConfig(env)).toMatchObject({ provider: 'openai', baseUrl: 'http://127.0.0.1:1234/v1', model: 'qwen2.5-7b-instruct' });
  });
});
