// Entry: read and check the environment once, build the embedder and the app, serve it.
import { z } from 'zod';
import { createEmbedder, embeddingsConfig, EmbeddingsEnvSchema, type SupabaseRuntime } from '../_shared/embeddings/index.ts';
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { createLogger } from '../_shared/log.ts';
import { createServiceClient } from '../_shared/supabase.ts';
import { createTokenVerifier } from '../_shared/auth.ts';
import { createApp, DEFAULT_RUN_OPTIONS } from './app.ts';

const positive = z.coerce.number().int().positive();
const env = parseEnv(
  SupabaseEnvSchema.extend(EmbeddingsEnvSchema.shape).extend({
    /** Wall time one invocation keeps claiming work (ms). */
    WORKER_BUDGET_MS: positive.optional(),
    /** Wall time after which an extract slice stops (ms); keep it under the platform's CPU limit per request. */
    WORKER_SLICE_MS: positive.optional(),
    WORKER_CONCURRENCY: positive.max(16).optional(),
    WORKER_LEASE_SECONDS: positive.min(10).max(3600).optional(),
    WORKER_EMBED_BATCH: positive.max(1024).optional(),
    /** Chunks an extract slice writes at most. */
    WORKER_MAX_CHUNKS_PER_SLICE: positive.max(5000).optional(),
  }),
  readEnv(),
);
const config = supabaseConfig(env);
const logger = createLogger({ function: 'worker' });
const embedder = await createEmbedder(embeddingsConfig(env), {
  logger,
  supabase: (globalThis as { Supabase?: SupabaseRuntime }).Supabase,
  readFile: (path) => Deno.readFile(path),
});

const app = createApp({
  systemKeys: config.systemKeys,
  serviceClient: createServiceClient(config),
  verifyToken: createTokenVerifier({ config }),
  embedder,
  logger,
  options: {
    ...DEFAULT_RUN_OPTIONS,
    ...(env.WORKER_BUDGET_MS && { budgetMs: env.WORKER_BUDGET_MS }),
    ...(env.WORKER_SLICE_MS && { sliceMs: env.WORKER_SLICE_MS }),
    ...(env.WORKER_CONCURRENCY && { concurrency: env.WORKER_CONCURRENCY }),
    ...(env.WORKER_LEASE_SECONDS && { leaseSeconds: env.WORKER_LEASE_SECONDS }),
    ...(env.WORKER_EMBED_BATCH && { embedBatch: env.WORKER_EMBED_BATCH }),
    ...(env.WORKER_MAX_CHUNKS_PER_SLICE && { maxChunksPerSlice: env.WORKER_MAX_CHUNKS_PER_SLICE }),
  },
});

Deno.serve(app.fetch);
