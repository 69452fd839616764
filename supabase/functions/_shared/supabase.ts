import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createTokenVerifier, type TokenVerifier } from './auth.ts';
import type { Database } from './database.types.ts';
import type { SupabaseConfig } from './env.ts';

const SERVER_AUTH = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } as const;

/** Options shared by the client factories. */
export interface ClientOptions {
  /** fetch for every request the client makes (tests, tracing); default global fetch. */
  fetch?: typeof fetch;
}

/**
 * A client acting as the caller: it sends the caller's access token, so Postgres row-level security decides what
 * it may read and write. Build one per request; never share it between callers.
 */
export function createUserClient(config: SupabaseConfig, accessToken: string, options: ClientOptions = {}): SupabaseClient<Database> {
  return createClient<Database>(config.url, config.publicKey, {
    auth: SERVER_AUTH,
    global: { headers: { Authorization: `Bearer ${accessToken}` }, ...(options.fetch ? { fetch: options.fetch } : {}) },
  });
}

/**
 * A client without a user: for Auth endpoints that take credentials (sign-in, refresh) and public data. Holds no
 * session between calls; build one per request.
 */
export function createPublicClient(config: SupabaseConfig, options: ClientOptions = {}): SupabaseClient {
  return createClient(config.url, config.publicKey, {
    auth: SERVER_AUTH,
    global: options.fetch ? { fetch: options.fetch } : {},
  });
}

/**
 * A service-role client: bypasses row-level security. Only for work a function does for the system (workers,
 * webhooks), never to read user data on a user's behalf.
 */
export function createServiceClient(config: SupabaseConfig, options: ClientOptions = {}): SupabaseClient<Database> {
  return createClient<Database>(config.url, config.secretKey, {
    auth: SERVER_AUTH,
    global: options.fetch ? { fetch: options.fetch } : {},
  });
}

/** The dependencies of user routes (`routes.ts`), built from the configuration: a verifier and a per-caller client. */
export function userRouteDeps(config: SupabaseConfig): { verifyToken: TokenVerifier; userClient: (accessToken: string) => SupabaseClient<Database> } {
  return { verifyToken: createTokenVerifier({ config }), userClient: (token) => createUserClient(config, token) };
}
