import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import { createStack, type Stack, type StackOptions } from '../../stack/index.ts';

/** Starts an ephemeral stack on free ports for one test file. */
export function startTestStack(options: StackOptions = {}): Promise<Stack> {
  return createStack({ ephemeral: true, apiPort: 0, dbPort: 0, ...options });
}

/** A supabase-js client with the publishable key and no session persistence (Node has no localStorage). */
export function anonClient(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.publishable, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

/** A supabase-js client with the secret key (service role). */
export function serviceClient(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.secret, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
  });
}

let counter = 0;
/** A unique e-mail address per call, so tests never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}@example.com`;
}
