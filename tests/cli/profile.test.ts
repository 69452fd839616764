import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from '../../cli/errors.ts';
import { loadProfile } from '../../cli/profile.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgebrain-profile-unit-'));
  await writeFile(join(dir, '.env'), 'EDGEBRAIN_SUPABASE_URL=https://base.example.com\nEDGEBRAIN_SECRET_KEY=sb_secret_base\nLLM_MODEL=ignored\n');
  await writeFile(join(dir, '.env.prod'), 'EDGEBRAIN_SUPABASE_URL=https://prod.example.com/\nEDGEBRAIN_PUBLISHABLE_KEY=sb_publishable_prod\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function errorOf(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    if (error instanceof CliError) return error;
    throw error;
  }
  throw new Error('expected a CliError');
}

describe('loadProfile', () => {
  it('defaults to dev: the local lite stack when nothing is set', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'edgebrain-profile-empty-'));
    try {
      expect(loadProfile({}, empty)).toEqual({
        name: 'dev',
        files: [],
        supabaseUrl: 'http://127.0.0.1:54321',
        secretKey: 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz',
        publishableKey: 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH',
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('layers .env, then .env.<profile>, then the environment, taking only EDGEBRAIN_ variables', () => {
    expect(loadProfile({ EDGEBRAIN_ENV: 'prod', EDGEBRAIN_SECRET_KEY: 'sb_secret_from_shell', LLM_MODEL: 'x' }, dir)).toEqual({
      name: 'prod',
      files: ['.env', '.env.prod'],
      supabaseUrl: 'https://prod.example.com',
      secretKey: 'sb_secret_from_shell',
      publishableKey: 'sb_publishable_prod',
    });
  });

  it('lets --profile override EDGEBRAIN_ENV, and names every missing or malformed variable', () => {
    const error = errorOf(() => loadProfile({ EDGEBRAIN_ENV: 'prod', EDGEBRAIN_SUPABASE_URL: 'ftp://nope' }, dir, 'stage'));
    expect(error.code).toBe('invalid_config');
    expect(error.exitCode).toBe(6);
    expect(error.message).toBe(
      'Profile "stage" is incomplete (read .env and the environment):\n' +
        '  EDGEBRAIN_SUPABASE_URL: must be an http(s) URL such as https://<ref>.supabase.co\n' +
        '  EDGEBRAIN_PUBLISHABLE_KEY: is missing',
    );
  });

  it('treats a blank value as unset', () => {
    const error = errorOf(() => loadProfile({ EDGEBRAIN_ENV: 'prod', EDGEBRAIN_PUBLISHABLE_KEY: '' }, dir));
    expect(error.message).toContain('EDGEBRAIN_PUBLISHABLE_KEY: is missing');
  });
});
