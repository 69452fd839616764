import { fileURLToPath } from 'node:url';
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

/** The fixture project: tables with every kind of foreign key, RLS-protected notes, and functions. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/rest-project', import.meta.url));

/** Starts an ephemeral stack on the fixture project. */
export function startRestStack(): Promise<Stack> {
  return startTestStack({ projectDir: FIXTURE_DIR, seed: false });
}

// Node 20 has no global WebSocket and supabase-js builds its realtime client eagerly; these tests never open one.
class NoWebSocket {
  constructor() {
    throw new Error('WebSocket is not available in this runtime');
  }
}
const transport = ((globalThis as { WebSocket?: unknown }).WebSocket ?? NoWebSocket) as never;

/** A supabase-js client with the publishable key, optionally carrying a user's access token. */
export function client(stack: Stack, options: { key?: string; token?: string } = {}): SupabaseClient {
  return createClient(stack.apiUrl, options.key ?? stack.keys.publishable, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport },
    global: options.token ? { headers: { Authorization: `Bearer ${options.token}` } } : {},
  });
}

/** A test user: an `auth.users` row inserted as postgres, and an access token with GoTrue's claims. */
export interface TestUser {
  id: string;
  email: string;
  token: string;
}

/** Creates `auth.users` rows directly (the Auth API is not under test here) and mints their access tokens. */
export async function createUser(stack: Stack, email: string, expiresIn = 3600): Promise<TestUser> {
  const id = crypto.randomUUID();
  await stack.db.query(
    `insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data, created_at, updated_at)
     values ($1, 'authenticated', 'authenticated', $2, '{"provider":"email","providers":["email"]}', '{}', now(), now())`,
    [id, email],
  );
  const now = Math.floor(Date.now() / 1000);
  const token = await stack.jwt.sign({
    iss: `${stack.apiUrl}/auth/v1`,
    aud: 'authenticated',
    sub: id,
    email,
    phone: '',
    role: 'authenticated',
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: now }],
    session_id: crypto.randomUUID(),
    is_anonymous: false,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    iat: now,
    exp: now + expiresIn,
  });
  return { id, email, token };
}
