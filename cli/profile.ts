import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { z } from 'zod';
import { CliError } from './errors.ts';

/** The profiles `EDGEBRAIN_ENV` selects. */
export const PROFILES = ['dev', 'stage', 'prod'] as const;
export type ProfileName = (typeof PROFILES)[number];

/** Every variable the CLI and scripts read carries this prefix, so they never clash with a function's. */
export const ENV_PREFIX = 'EDGEBRAIN_';

/** The lite stack's well-known local values (`supabase start`'s): the `dev` profile's defaults. */
const LOCAL = {
  SUPABASE_URL: 'http://127.0.0.1:54321',
  PUBLISHABLE_KEY: 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH',
  SECRET_KEY: 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz',
};

const ProfileSchema = z.object({
  SUPABASE_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://<ref>.supabase.co' }),
  SECRET_KEY: z.string().min(1, 'must be set: a secret key (sb_secret_…) or the legacy service_role key'),
  PUBLISHABLE_KEY: z.string().min(1, 'must be set: a publishable key (sb_publishable_…) or the legacy anon key'),
});

/** Every variable the CLI reads (what `.env.example` must list). */
export const PROFILE_VARIABLES = ['EDGEBRAIN_ENV', ...Object.keys(ProfileSchema.shape).map((key) => `${ENV_PREFIX}${key}`)];

/** A resolved profile: where the project is and the keys to reach it. */
export interface Profile {
  name: ProfileName;
  /** The files read, in order (later ones override earlier ones; the process environment overrides all). */
  files: string[];
  supabaseUrl: string;
  secretKey: string;
  publishableKey: string;
}

/**
 * Reads a profile: `.env` then `.env.<profile>` from `dir` (dotenv syntax), then the process environment, taking
 * only `EDGEBRAIN_*` variables. `dev` (the default) falls back to the local lite stack; `stage` and `prod` have no
 * defaults, and a missing or malformed variable fails with a message naming it.
 */
export function loadProfile(env: Record<string, string | undefined>, dir: string, requested?: string): Profile {
  const name = requested ?? env.EDGEBRAIN_ENV ?? 'dev';
  if (!(PROFILES as readonly string[]).includes(name)) {
    throw new CliError('invalid_config', `EDGEBRAIN_ENV must be one of ${PROFILES.join(', ')}, got "${name}".`);
  }
  const files = ['.env', `.env.${name}`].filter((file) => existsSync(join(dir, file)));
  const merged: Record<string, string | undefined> = {};
  for (const file of files) Object.assign(merged, parse(readFileSync(join(dir, file))));
  for (const [key, value] of Object.entries(env)) if (key.startsWith(ENV_PREFIX) && value !== undefined) merged[key] = value;

  const raw: Record<string, string | undefined> = {};
  for (const key of Object.keys(ProfileSchema.shape)) {
    const value = merged[`${ENV_PREFIX}${key}`];
    raw[key] = value === '' ? undefined : value;
    if (raw[key] === undefined && name === 'dev') raw[key] = LOCAL[key as keyof typeof LOCAL];
  }
  const parsed = ProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${ENV_PREFIX}${String(issue.path[0])}: ${issue.code === 'invalid_type' ? 'is missing' : issue.message}`);
    throw new CliError(
      'invalid_config',
      `Profile "${name}" is incomplete (read ${files.length ? files.join(', ') : 'no .env file'} and the environment):\n  ${problems.join('\n  ')}`,
    );
  }
  return {
    name: name as ProfileName,
    files,
    supabaseUrl: parsed.data.SUPABASE_URL.replace(/\/+$/, ''),
    secretKey: parsed.data.SECRET_KEY,
    publishableKey: parsed.data.PUBLISHABLE_KEY,
  };
}
