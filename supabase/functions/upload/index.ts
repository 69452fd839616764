// Entry: read and check the environment once, build the app, serve it.
import { z } from 'zod';
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { userRouteDeps } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const env = parseEnv(
  SupabaseEnvSchema.extend({
    /** Bucket `documents`' file_size_limit, when a project changes it from the migration's 50 MiB. */
    DOCUMENTS_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().optional(),
  }),
  readEnv(),
);

Deno.serve(createApp({ ...userRouteDeps(supabaseConfig(env)), bucketMaxBytes: env.DOCUMENTS_MAX_UPLOAD_BYTES }).fetch);
