import { describe, expect, it } from 'vitest';
import { embeddingsConfig, EmbeddingsEnvSchema } from '../../../../supabase/functions/_shared/embeddings/index.ts';
import { EnvError, parseEnv, SupabaseEnvSchema } from '../../../../supabase/functions/_shared/env.ts';
import { envErrorOf } from '../../../helpers/env.ts';

/** What an entry file does: parse the variables, then derive the config; both steps may throw EnvError. */
function configFrom(source: Record<string, string | undefined>) {
  return embeddingsConfig(parseEnv(EmbeddingsEnvSchema, source));
}

function failure(source: Record<string, string | undefined>): EnvError {
  return envErrorOf(() => configFrom(source));
}

describe('embeddingsConfig', () => {
  it('defaults to the hash embedder when nothing is set', () => {
    expect(configFrom({})).toEqual({ provider: 'hash' });
  });

  it('treats blank variables as unset, as in an .env template', () => {
    expect(configFrom({ EMBEDDINGS_PROVIDER: '', EMBEDDINGS_API_KEY: '', EMBEDDINGS_MODEL: '' })).toEqual({ provider: 'hash' });
  });

  it('derives the openai settings with their defaults', () => {
    expect(configFrom({ EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_MODEL: 'text-embedding-3-small', EMBEDDINGS_API_KEY: 'sk-x' })).toEqual({
      provider: 'openai',
      baseUrl: 'https://api.openai.com/v1',
      apiKey: 'sk-x',
      model: 'text-embedding-3-small',
      sendDimensions: true,
      batchSize: 128,
      maxRetries: 2,
    });
  });

  it('accepts a keyless OpenAI-compatible server and strips the trailing slash of its URL', () => {
    expect(
      configFrom({
        EMBEDDINGS_PROVIDER: 'openai',
        EMBEDDINGS_MODEL: 'all-minilm',
        EMBEDDINGS_BASE_URL: 'http://127.0.0.1:11434/v1/',
        EMBEDDINGS_SEND_DIMENSIONS: 'false',
        EMBEDDINGS_BATCH_SIZE: '16',
        EMBEDDINGS_MAX_RETRIES: '0',
      }),
    ).toEqual({
      provider: 'openai',
      baseUrl: 'http://127.0.0.1:11434/v1',
      apiKey: undefined,
      model: 'all-minilm',
      sendDimensions: false,
      batchSize: 16,
      maxRetries: 0,
    });
  });

  it('derives the local settings', () => {
    expect(configFrom({ EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_MODEL_DIR: '/models/gte-small/' })).toEqual({
      provider: 'local',
      modelDir: '/models/gte-small',
      modelFile: undefined,
      batchSize: 8,
    });
  });

  it('accepts EMBEDDINGS_DIMENSIONS=384 and the supabase provider with gte-small', () => {
    expect(configFrom({ EMBEDDINGS_PROVIDER: 'supabase', EMBEDDINGS_DIMENSIONS: '384', EMBEDDINGS_MODEL: 'gte-small' })).toEqual({
      provider: 'supabase',
    });
  });

  it('fails naming EMBEDDINGS_PROVIDER when it is unknown', () => {
    const error = failure({ EMBEDDINGS_PROVIDER: 'cohere' });
    expect(error.variables).toEqual(['EMBEDDINGS_PROVIDER']);
    expect(error.message).toBe(
      'Invalid environment: EMBEDDINGS_PROVIDER is malformed: expected one of hash, openai, supabase, local',
    );
  });

  it('fails naming EMBEDDINGS_MODEL when openai has no model', () => {
    const error = failure({ EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_API_KEY: 'sk-x' });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL']);
    expect(error.message).toContain('EMBEDDINGS_MODEL is missing: EMBEDDINGS_PROVIDER=openai needs a model name');
  });

  it('fails naming EMBEDDINGS_API_KEY when the OpenAI API is used without a key', () => {
    const error = failure({ EMBEDDINGS_PROVIDER: 'openai', EMBEDDINGS_MODEL: 'text-embedding-3-small' });
    expect(error.variables).toEqual(['EMBEDDINGS_API_KEY']);
    expect(error.message).toContain('EMBEDDINGS_API_KEY is missing: https://api.openai.com/v1 needs an API key');
  });

  it('names every openai problem at once', () => {
    expect(failure({ EMBEDDINGS_PROVIDER: 'openai' }).variables).toEqual(['EMBEDDINGS_MODEL', 'EMBEDDINGS_API_KEY']);
  });

  it('fails naming EMBEDDINGS_MODEL_DIR when local has no model directory', () => {
    const error = failure({ EMBEDDINGS_PROVIDER: 'local' });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL_DIR']);
    expect(error.message).toContain('EMBEDDINGS_MODEL_DIR is missing: EMBEDDINGS_PROVIDER=local needs the directory');
  });

  it('fails naming EMBEDDINGS_DIMENSIONS when it is not 384', () => {
    const error = failure({ EMBEDDINGS_DIMENSIONS: '1536' });
    expect(error.variables).toEqual(['EMBEDDINGS_DIMENSIONS']);
    expect(error.message).toBe(
      'Invalid environment: EMBEDDINGS_DIMENSIONS is malformed: must be 384: document_chunks.embedding is vector(384)',
    );
  });

  it('fails naming EMBEDDINGS_PROVIDER when provider settings are set without it', () => {
    const error = failure({ EMBEDDINGS_MODEL: 'text-embedding-3-small', EMBEDDINGS_API_KEY: 'sk-secret-value' });
    expect(error.variables).toEqual(['EMBEDDINGS_PROVIDER']);
    expect(error.message).toContain('EMBEDDINGS_MODEL, EMBEDDINGS_API_KEY are set, but without a provider');
    expect(error.message).not.toContain('sk-secret-value');
  });

  it('keeps the hash embedder when it is chosen explicitly beside other settings', () => {
    expect(configFrom({ EMBEDDINGS_PROVIDER: 'hash', EMBEDDINGS_MODEL: 'text-embedding-3-small' })).toEqual({ provider: 'hash' });
  });

  it('fails naming EMBEDDINGS_MODEL when supabase is asked for another model', () => {
    const error = failure({ EMBEDDINGS_PROVIDER: 'supabase', EMBEDDINGS_MODEL: 'text-embedding-3-small' });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL']);
    expect(error.message).toContain('Supabase.ai only embeds with gte-small');
  });

  it('rejects malformed numbers, booleans and URLs without echoing them', () => {
    const error = failure({
      EMBEDDINGS_PROVIDER: 'openai',
      EMBEDDINGS_MODEL: 'm',
      EMBEDDINGS_BASE_URL: 'ftp://files.example',
      EMBEDDINGS_SEND_DIMENSIONS: 'perhaps',
      EMBEDDINGS_BATCH_SIZE: '0',
    });
    expect(error.variables).toEqual(['EMBEDDINGS_BASE_URL', 'EMBEDDINGS_SEND_DIMENSIONS', 'EMBEDDINGS_BATCH_SIZE']);
    expect(error.message).not.toContain('ftp://files.example');
    expect(error.message).not.toContain('perhaps');
  });

  it('merges into a function schema next to the platform variables', () => {
    const schema = SupabaseEnvSchema.extend(EmbeddingsEnvSchema.shape);
    const env = parseEnv(schema, {
      SUPABASE_URL: 'http://127.0.0.1:54321',
      SUPABASE_ANON_KEY: 'anon',
      SUPABASE_SERVICE_ROLE_KEY: 'service',
      EMBEDDINGS_PROVIDER: 'local',
      EMBEDDINGS_MODEL_DIR: '/models/all-MiniLM-L6-v2',
    });
    expect(embeddingsConfig(env)).toMatchObject({ provider: 'local', modelDir: '/models/all-MiniLM-L6-v2' });
  });
});
