// Entry: read and check the environment once, build the app, serve it.
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { createPublicClient } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const config = supabaseConfig(parseEnv(SupabaseEnvSchema, readEnv()));
const app = createApp({ authClient: () => createPublicClient(config).auth });

Deno.serve(app.fetch);
