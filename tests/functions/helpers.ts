import type { SupabaseClient } from '@supabase/supabase-js';
import type { Stack } from '../../stack/index.ts';
import { testClient } from '../helpers/stack.ts';

/** A supabase-js client for the stack with `key` (default the publishable key), no session persistence. */
export function client(stack: Stack, key = stack.keys.publishable): SupabaseClient {
  return testClient(stack, { key });
}
