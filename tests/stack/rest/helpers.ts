import { fileURLToPath } from 'node:url';
import type { SupabaseClient } from '@supabase/supabase-js';
import type { Stack } from '../../../stack/index.ts';
import { type MintedUser, mintUser, startTestStack, testClient } from '../../helpers/stack.ts';

/** The fixture project: tables with every kind of foreign key, RLS-protected notes, and functions. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/rest-project', import.meta.url));

/** Starts an ephemeral stack on the fixture project. */
export function startRestStack(): Promise<Stack> {
  return startTestStack({ projectDir: FIXTURE_DIR, seed: false });
}

/** A supabase-js client with the publishable key, optionally carrying a user's access token. */
export function client(stack: Stack, options: { key?: string; token?: string } = {}): SupabaseClient {
  return testClient(stack, { key: options.key, accessToken: options.token });
}

/** A test user: an `auth.users` row inserted as postgres, and an access token with GoTrue's claims. */
export type TestUser = MintedUser;

/** Creates `auth.users` rows directly (the Auth API is not under test here) and mints their access tokens. */
export function createUser(stack: Stack, email: string, expiresIn = 3600): Promise<TestUser> {
  return mintUser(stack, { email, expiresIn });
}
