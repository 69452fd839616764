import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import type { StackContext } from '../context.ts';
import { functionsRoot } from './discover.ts';

/**
 * The environment of every function process, as `supabase functions serve` builds it: the user's secrets from
 * `supabase/functions/.env` and `extra` (names starting with `SUPABASE_` are reserved and skipped, as the CLI
 * does), then the variables the platform injects. Nothing of the stack's own environment leaks in.
 *
 * `SUPABASE_JWT_SECRET` is a lite-stack addition: the CLI keeps the secret internal, but the lite stack signs user
 * tokens with HS256 by default, so functions need it to verify them (`_shared/auth.ts` also accepts `JWT_SECRET`,
 * the name to use with `supabase secrets set` for legacy HS256 projects).
 */
export async function functionEnvironment(
  ctx: StackContext,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  const dotenvPath = join(functionsRoot(ctx.projectDir), '.env');
  let text: string | undefined;
  try {
    text = await readFile(dotenvPath, 'utf8');
  } catch {
    // no .env: nothing to add
  }
  if (text !== undefined) {
    for (const [name, value] of Object.entries(parseEnv(text))) {
      if (name.startsWith('SUPABASE_')) {
        ctx.log(`[functions] ${dotenvPath}: ${name} is reserved (names may not start with SUPABASE_); skipped`);
        continue;
      }
      if (value !== undefined) env[name] = value;
    }
  }
  for (const [name, value] of Object.entries(extra)) {
    if (!name.startsWith('SUPABASE_')) env[name] = value;
  }
  return {
    ...env,
    SUPABASE_URL: ctx.apiUrl,
    SUPABASE_ANON_KEY: ctx.keys.anon,
    SUPABASE_SERVICE_ROLE_KEY: ctx.keys.serviceRole,
    SUPABASE_DB_URL: ctx.dbUrl,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: ctx.keys.publishable }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: ctx.keys.secret }),
    SUPABASE_JWT_SECRET: ctx.jwt.secretText,
  };
}
