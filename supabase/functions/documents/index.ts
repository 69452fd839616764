// Entry: read and check the environment once, build the app, serve it.
import { createTokenVerifier } from '../_shared/auth.ts';
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { createUserClient } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const config = supabaseConfig(parseEnv(SupabaseEnvSchema, readEnv()));
const app = createApp({ verifyToken: createTokenVerifier({ config }), userClient: (token) => createUserClient(config, token) });

Deno.serve(app.fetch);
