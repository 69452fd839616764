import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Stack, StackOptions } from '../../../stack/index.ts';
import { startTestStack, uniqueEmail } from '../../helpers/stack.ts';

/** The fixture project: buckets in config.toml, per-user folder policies in a migration. */
export const STORAGE_PROJECT = fileURLToPath(new URL('../../fixtures/storage-project', import.meta.url));

export function startStorageStack(options: StackOptions = {}): Promise<Stack> {
  return startTestStack({ projectDir: STORAGE_PROJECT, ...options });
}

/** A signed-in user as the Auth API would issue them: an `auth.users` row and a GoTrue-shaped access token. */
export interface TestUser {
  id: string;
  token: string;
  client: SupabaseClient;
}

const NO_SESSION = { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false };

/**
 * supabase-js builds a Realtime client eagerly and, on Node 20 (no global WebSocket), refuses to without a
 * transport. Storage tests never open a socket, so a transport that fails if ever used is enough.
 */
class NoWebSocket {
  constructor() {
    throw new Error('Realtime is not used by the storage tests');
  }
}
const OPTIONS = { auth: NO_SESSION, realtime: { transport: NoWebSocket as unknown as typeof WebSocket } };

/** Inserts a user as postgres and mints their access token (the Auth API is not needed for storage tests). */
export async function createUser(stack: Stack): Promise<TestUser> {
  const id = randomUUID();
  const email = uniqueEmail('storage');
  await stack.db.query(
    `insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at, created_at, updated_at)
     values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', $2, now(), now(), now())`,
    [id, email],
  );
  const now = Math.floor(Date.now() / 1000);
  const token = await stack.jwt.sign({
    iss: `${stack.apiUrl}/auth/v1`,
    sub: id,
    aud: 'authenticated',
    exp: now + 3600,
    iat: now,
    email,
    phone: '',
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: randomUUID(),
    is_anonymous: false,
  });
  return { id, token, client: userClient(stack, token) };
}

/** supabase-js with the publishable key and a user's access token, as a browser app after sign-in. */
export function userClient(stack: Stack, token: string): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.publishable, {
    ...OPTIONS,
    global: { headers: { Authorization: `Bearer ${token}` } },
  });
}

export function anon(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.publishable, OPTIONS);
}

export function service(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.secret, OPTIONS);
}

/** The whole error body storage-js got, as the server sent it. */
export async function errorBody(error: unknown): Promise<unknown> {
  const e = error as { originalError?: Response; status?: number; statusCode?: string; message?: string };
  return { status: e.status, statusCode: e.statusCode, message: e.message };
}

/** A storage error body as `{statusCode, code, error, message}`. */
export function storageError(statusCode: string, code: string, error: string, message: string) {
  return { statusCode, code, error, message };
}

/** Object rows of a bucket, read as postgres (what really is in the database). */
export async function objectNames(stack: Stack, bucket: string): Promise<string[]> {
  const { rows } = await stack.db.query<{ name: string }>(
    'select name from storage.objects where bucket_id = $1 order by name',
    [bucket],
  );
  return rows.map((r) => r.name);
}

/** `fetch` against the storage API with the publishable key and optional bearer token. */
export function storageFetch(stack: Stack, path: string, init: RequestInit & { token?: string; key?: string } = {}) {
  const headers = new Headers(init.headers);
  if (!headers.has('apikey') && init.key !== '') headers.set('apikey', init.key ?? stack.keys.publishable);
  if (init.token) headers.set('authorization', `Bearer ${init.token}`);
  return fetch(`${stack.apiUrl}/storage/v1${path}`, { ...init, headers });
}
