import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Stack } from '../../stack/index.ts';

/** Node 20 has no global WebSocket and supabase-js builds its realtime client eagerly; these tests never use it. */
class NoWebSocket {
  constructor() {
    throw new Error('WebSocket is not available in this runtime');
  }
}

/** A supabase-js client for the stack with `key` (default the publishable key), no session persistence. */
export function client(stack: Stack, key = stack.keys.publishable): SupabaseClient {
  return createClient(stack.apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: ((globalThis as { WebSocket?: unknown }).WebSocket ?? NoWebSocket) as never },
  });
}
