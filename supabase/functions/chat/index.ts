// Entry: read and check the environment once, build the embedder, the model and the app, serve it.
import { createEmbedder, embeddingsConfig, EmbeddingsEnvSchema, type SupabaseRuntime } from '../_shared/embeddings/index.ts';
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { createLanguageModel, llmConfig, LlmEnvSchema } from '../_shared/llm/index.ts';
import { createLogger } from '../_shared/log.ts';
import { createServiceClient, userRouteDeps } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const env = parseEnv(SupabaseEnvSchema.extend(EmbeddingsEnvSchema.shape).extend(LlmEnvSchema.shape), readEnv());
const config = supabaseConfig(env);
const logger = createLogger({ function: 'chat' });
const runtime = globalThis as { Supabase?: SupabaseRuntime; EdgeRuntime?: { waitUntil(promise: Promise<unknown>): void } };

const app = createApp({
  ...userRouteDeps(config),
  serviceClient: createServiceClient(config),
  embedder: await createEmbedder(embeddingsConfig(env), { logger, supabase: runtime.Supabase, readFile: (path) => Deno.readFile(path) }),
  llm: await createLanguageModel(llmConfig(env), { logger }),
  logger,
  waitUntil: runtime.EdgeRuntime ? (promise) => runtime.EdgeRuntime!.waitUntil(promise) : undefined,
});

Deno.serve(app.fetch);
