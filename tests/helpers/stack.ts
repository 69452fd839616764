import { randomUUID } from 'node:crypto';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createStack, type Stack, type StackOptions } from '../../stack/index.ts';

/** Starts an ephemeral stack on free ports for one test file. */
export function startTestStack(options: StackOptions = {}): Promise<Stack> {
  return createStack({ ephemeral: true, apiPort: 0, dbPort: 0, ...options });
}

/**
 * supabase-js builds its Realtime client eagerly and, on Node 20 (no global WebSocket), refuses to without a
 * transport. No test opens a channel, so a transport that fails if it is ever used is enough.
 */
class NoWebSocket {
  constructor() {
    throw new Error('Realtime is not used by these tests (Node 20 has no WebSocket)');
  }
}
const transport = ((globalThis as { WebSocket?: unknown }).WebSocket ?? NoWebSocket) as never;

/** Options for {@link testClient}. */
export interface TestClientOptions {
  /** API key the client carries; default the publishable key. */
  key?: string;
  /** A user's access token, sent as `Authorization: Bearer …` (as a browser app after sign-in). */
  accessToken?: string;
  /** fetch to observe or record the client's requests. */
  fetch?: typeof fetch;
}

/** A real supabase-js client for the stack, without session persistence (Node has no localStorage). */
export function testClient(stack: Stack, options: TestClientOptions = {}): SupabaseClient {
  return createClient(stack.apiUrl, options.key ?? stack.keys.publishable, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport },
    global: {
      ...(options.accessToken ? { headers: { Authorization: `Bearer ${options.accessToken}` } } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
    },
  });
}

/** A supabase-js client with the publishable key (anon until it signs in); `fetch` to observe its requests. */
export function anonClient(stack: Stack, fetch?: typeof globalThis.fetch): SupabaseClient {
  return testClient(stack, { fetch });
}

/** A supabase-js client with the secret key (service role, bypasses RLS; the Auth admin API). */
export function serviceClient(stack: Stack, fetch?: typeof globalThis.fetch): SupabaseClient {
  return testClient(stack, { key: stack.keys.secret, fetch });
}

let counter = 0;
/** A unique e-mail address per call, so tests never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}@example.com`;
}

/**
 * A signed-in user: their id and e-mail, their access token, and a supabase-js client (publishable key) that
 * carries that token, as a browser app after sign-in.
 */
export interface TestUser {
  id: string;
  email: string;
  token: string;
  client: SupabaseClient;
}

/** Options for {@link mintUser}. */
export interface MintUserOptions {
  /** The user's e-mail; default a {@link uniqueEmail} with `prefix`. */
  email?: string;
  /** Prefix of the generated e-mail address. */
  prefix?: string;
  /** Seconds until the access token expires (negative: already expired); default 3600. */
  expiresIn?: number;
  /** fetch for the user's client, to observe or record its requests. */
  fetch?: typeof fetch;
}

/**
 * A user made without the Auth API, for suites that test another API and should not depend on Auth: inserts an
 * `auth.users` row as postgres and signs an access token with GoTrue's claims (contract §2.4).
 */
export async function mintUser(stack: Stack, options: MintUserOptions = {}): Promise<TestUser> {
  const id = randomUUID();
  const email = options.email ?? uniqueEmail(options.prefix);
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
    exp: now + (options.expiresIn ?? 3600),
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
  return { id, email, token, client: testClient(stack, { accessToken: token, fetch: options.fetch }) };
}

/**
 * A user made through the Auth API: a confirmed user created with the admin API, signed in with
 * `signInWithPassword` as a browser app would (the client holds the session in memory).
 */
export async function signUpUser(stack: Stack, prefix = 'user'): Promise<TestUser> {
  const email = uniqueEmail(prefix);
  const password = 'correct-horse-battery-staple';
  const created = await serviceClient(stack).auth.admin.createUser({ email, password, email_confirm: true });
  if (created.error) throw created.error;
  const client = anonClient(stack);
  const { data, error } = await client.auth.signInWithPassword({ email, password });
  if (error) throw error;
  return { id: created.data.user.id, email, token: data.session.access_token, client };
}
