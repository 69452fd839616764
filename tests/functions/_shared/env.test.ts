import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EnvError, parseEnv, SupabaseEnvSchema, supabaseConfig } from '../../../supabase/functions/_shared/env.ts';

const base = {
  SUPABASE_URL: 'http://127.0.0.1:54321/',
  SUPABASE_ANON_KEY: 'anon-jwt',
  SUPABASE_SERVICE_ROLE_KEY: 'service-jwt',
};

function failure(source: Record<string, string | undefined>, schema: z.ZodType = SupabaseEnvSchema): EnvError {
  try {
    parseEnv(schema, source);
  } catch (error) {
    if (error instanceof EnvError) return error;
    throw error;
  }
  throw new Error('expected an EnvError');
}

describe('parseEnv', () => {
  it('fails naming every missing variable', () => {
    const error = failure({ SUPABASE_URL: 'http://127.0.0.1:54321' });
    expect(error.variables).toEqual(['SUPABASE_ANON_KEY', 'SUPABASE_SERVICE_ROLE_KEY']);
    expect(error.message).toBe('Invalid environment: SUPABASE_ANON_KEY is missing; SUPABASE_SERVICE_ROLE_KEY is missing');
  });

  it('fails naming a malformed variable without echoing its value', () => {
    const error = failure({ ...base, SUPABASE_URL: 'not a url', SUPABASE_PUBLISHABLE_KEYS: 'sb_publishable_secretish' });
    expect(error.variables).toEqual(['SUPABASE_URL', 'SUPABASE_PUBLISHABLE_KEYS']);
    expect(error.message).toContain('SUPABASE_URL is malformed');
    expect(error.message).toContain('SUPABASE_PUBLISHABLE_KEYS is malformed: expected a JSON object of key names to keys');
    expect(error.message).not.toContain('sb_publishable_secretish');
  });

  it('rejects a legacy JWT secret shorter than 16 characters', () => {
    expect(failure({ ...base, JWT_SECRET: 'short' }).message).toBe(
      'Invalid environment: JWT_SECRET is malformed: must be at least 16 characters',
    );
  });

  it('lets a function extend the schema with its own variables', () => {
    const schema = SupabaseEnvSchema.extend({ OPENAI_API_KEY: z.string().min(1) });
    expect(failure(base, schema).variables).toEqual(['OPENAI_API_KEY']);
  });
});

describe('supabaseConfig', () => {
  it('derives the issuer from SUPABASE_URL and falls back to the legacy keys', () => {
    expect(supabaseConfig(parseEnv(SupabaseEnvSchema, base))).toEqual({
      url: 'http://127.0.0.1:54321',
      publicKey: 'anon-jwt',
      secretKey: 'service-jwt',
      systemKeys: ['service-jwt'],
      issuer: 'http://127.0.0.1:54321/auth/v1',
      jwtSecret: undefined,
      jwks: undefined,
    });
  });

  it('prefers the default publishable and secret keys, the issuer override and SUPABASE_JWT_SECRET', () => {
    const env = parseEnv(SupabaseEnvSchema, {
      ...base,
      SUPABASE_PUBLISHABLE_KEYS: '{"default":"sb_publishable_x"}',
      SUPABASE_SECRET_KEYS: '{"default":"sb_secret_y"}',
      SUPABASE_JWT_SECRET: 'a-secret-of-at-least-16',
      JWT_SECRET: 'another-secret-of-16+',
      SUPABASE_JWKS: '{"keys":[{"kty":"EC","crv":"P-256","x":"x","y":"y"}]}',
      AUTH_JWT_ISSUER: 'http://127.0.0.1:54321/auth/v1',
    });
    expect(supabaseConfig(env)).toMatchObject({
      publicKey: 'sb_publishable_x',
      secretKey: 'sb_secret_y',
      systemKeys: ['sb_secret_y', 'service-jwt'],
      jwtSecret: 'a-secret-of-at-least-16',
      issuer: 'http://127.0.0.1:54321/auth/v1',
      jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] },
    });
  });
});
