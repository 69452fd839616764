// Entry: read and check the environment once, build the app, serve it.
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { userRouteDeps } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const config = supabaseConfig(parseEnv(SupabaseEnvSchema, readEnv()));

Deno.serve(createApp(userRouteDeps(config)).fetch);
