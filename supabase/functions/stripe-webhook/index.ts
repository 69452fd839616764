// Entry: read and check the environment once, build the Stripe client (if configured) and the app, serve it.
import { billingConfig, BillingEnvSchema } from '../_shared/billing/config.ts';
import { createStripe } from '../_shared/billing/stripe.ts';
import { parseEnv, readEnv, SupabaseEnvSchema, supabaseConfig } from '../_shared/env.ts';
import { createServiceClient } from '../_shared/supabase.ts';
import { createApp } from './app.ts';

const env = parseEnv(SupabaseEnvSchema.extend(BillingEnvSchema.shape), readEnv());
const config = supabaseConfig(env);
const billing = billingConfig(env);

const app = createApp({
  webhookSecret: billing.webhookSecret,
  stripe: billing.stripe && createStripe(billing.stripe),
  serviceClient: createServiceClient(config),
});

Deno.serve(app.fetch);
