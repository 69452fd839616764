import { z } from 'zod';

/** A JSON object of named API keys, as Supabase injects `SUPABASE_PUBLISHABLE_KEYS` / `SUPABASE_SECRET_KEYS`. */
const KeyMapSchema = z.string().transform((text, ctx) => {
  try {
    const parsed = z.record(z.string(), z.string().min(1)).safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'expected a JSON object of key names to keys, e.g. {"default":"sb_…"}' });
  return z.NEVER;
});

/** A JSON Web Key Set, as hosted Supabase injects `SUPABASE_JWKS`. */
const JwksSchema = z.string().transform((text, ctx) => {
  try {
    const parsed = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) }).safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
  } catch {
    // reported below
  }
  ctx.addIssue({ code: 'custom', message: 'expected a JSON Web Key Set {"keys":[…]}' });
  return z.NEVER;
});

const Secret = z.string().min(16, 'must be at least 16 characters');

/**
 * An optional variable for which a blank value counts as unset: a line such as `LLM_API_KEY=` in an .env
 * template means "not set", not "set to nothing".
 */
export const optionalVar = <T extends z.ZodType>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/**
 * The variables every function receives from the platform (hosted Supabase, `supabase start`, the lite stack),
 * plus the optional ones `_shared/auth.ts` understands. Functions extend it with their own secrets.
 */
export const SupabaseEnvSchema = z.object({
  SUPABASE_URL: z.url(),
  SUPABASE_ANON_KEY: z.string().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().min(1),
  SUPABASE_PUBLISHABLE_KEYS: KeyMapSchema.optional(),
  SUPABASE_SECRET_KEYS: KeyMapSchema.optional(),
  /** Published signing keys (hosted); when absent they are fetched from the Auth JWKS endpoint. */
  SUPABASE_JWKS: JwksSchema.optional(),
  /** Legacy HS256 secret: injected by the lite stack; on hosted projects set `JWT_SECRET` if tokens are HS256. */
  SUPABASE_JWT_SECRET: Secret.optional(),
  JWT_SECRET: Secret.optional(),
  /** Token issuer when it differs from `${SUPABASE_URL}/auth/v1` (e.g. `supabase start`, where SUPABASE_URL is internal). */
  AUTH_JWT_ISSUER: z.url().optional(),
});

/** The raw variables as parsed by {@link SupabaseEnvSchema}. */
export type SupabaseEnv = z.output<typeof SupabaseEnvSchema>;

/** What `_shared` modules need to reach Supabase, derived once from the environment. */
export interface SupabaseConfig {
  /** Gateway URL (`SUPABASE_URL`), without a trailing slash. */
  url: string;
  /** Key for user-facing clients: the default publishable key if the platform provides one, else the anon key. */
  publicKey: string;
  /** Key for system clients: the default secret key if the platform provides one, else the service_role key. */
  secretKey: string;
  /** Every key that proves a system caller (all secret keys and the service_role key), for system-only routes. */
  systemKeys: string[];
  /** Expected `iss` of user access tokens. */
  issuer: string;
  /** Legacy HS256 secret, if configured; without it HS256 tokens are refused. */
  jwtSecret?: string;
  /** Static signing keys, if the platform injected them. */
  jwks?: { keys: Array<Record<string, unknown> & { kty: string }> };
}

/** Malformed or missing configuration; the message names every offending variable and never echoes values. */
export class EnvError extends Error {
  constructor(readonly variables: string[], message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/**
 * Validates `source` against `schema`; throws {@link EnvError} naming each missing or malformed variable.
 * Call it once at start-up (in the entry file), never per request.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: Record<string, string | undefined>): z.output<S> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? '(environment)');
    const missing = issue.code === 'invalid_type' && source[name] === undefined;
    return { name, text: missing ? `${name} is missing` : `${name} is malformed: ${issue.message}` };
  });
  const names = [...new Set(problems.map((p) => p.name))];
  throw new EnvError(names, `Invalid environment: ${problems.map((p) => p.text).join('; ')}`);
}

/** Derives the {@link SupabaseConfig} the `_shared` modules take from a parsed environment. */
export function supabaseConfig(env: SupabaseEnv): SupabaseConfig {
  const url = env.SUPABASE_URL.replace(/\/+$/, '');
  return {
    url,
    publicKey: env.SUPABASE_PUBLISHABLE_KEYS?.default ?? env.SUPABASE_ANON_KEY,
    secretKey: env.SUPABASE_SECRET_KEYS?.default ?? env.SUPABASE_SERVICE_ROLE_KEY,
    systemKeys: [...new Set([...Object.values(env.SUPABASE_SECRET_KEYS ?? {}), env.SUPABASE_SERVICE_ROLE_KEY])],
    issuer: env.AUTH_JWT_ISSUER ?? `${url}/auth/v1`,
    jwtSecret: env.SUPABASE_JWT_SECRET ?? env.JWT_SECRET,
    jwks: env.SUPABASE_JWKS,
  };
}

/**
 * The process environment under Deno (`Deno.env.toObject()`), or `{}` elsewhere. The only place outside entry
 * files that touches `Deno.*`; everything else receives configuration as arguments.
 */
export function readEnv(): Record<string, string> {
  const deno = (globalThis as { Deno?: { env: { toObject(): Record<string, string> } } }).Deno;
  return deno ? deno.env.toObject() : {};
}
