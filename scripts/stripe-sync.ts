#!/usr/bin/env node
/**
 * `npm run stripe:sync [-- --dry-run]`: makes Stripe's products and prices match the `plans` table of one project,
 * then writes each price id back into that project's `plans.stripe_price_id`. Each environment (test or live) is
 * its own Supabase project with its own Stripe key, so running it once per project is the whole mapping.
 *
 * For every plan with a `price_amount`: product `edgebrain_<plan>` (a fixed id: created once, renamed with the
 * plan), and the active price with lookup key `edgebrain_<plan>`. When amount, currency or interval changed, a new
 * price takes the lookup key over (`transfer_lookup_key`) and the old one is archived — existing subscribers keep
 * paying it until they change plan. Running it again changes nothing. Every write carries an idempotency key.
 *
 * The project comes from the CLI's profile (`EDGEBRAIN_ENV`, `EDGEBRAIN_SUPABASE_URL`, `EDGEBRAIN_SECRET_KEY`;
 * `dev` is the local lite stack), the Stripe key from `EDGEBRAIN_STRIPE_SECRET_KEY` (for `dev` also the functions'
 * `STRIPE_SECRET_KEY`, see {@link stripeSettings}). `EDGEBRAIN_STRIPE_API_BASE` points it at another Stripe server
 * (tests' fake).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SupabaseClient } from '@supabase/supabase-js';
import { parse } from 'dotenv';
import { createContext } from '../cli/context.ts';
import { loadProfile, type Profile } from '../cli/profile.ts';
import { createStripe, type Stripe } from '../supabase/functions/_shared/billing/stripe.ts';
import type { Database } from '../supabase/functions/_shared/database.types.ts';

/** What {@link syncPlans} works with. */
export interface SyncOptions {
  stripe: Stripe;
  /** A service-role client of the project whose plans are synced. */
  supabase: SupabaseClient<Database>;
  /** Report what would change; write nothing to Stripe or the database. */
  dryRun?: boolean;
  /** One line of progress. */
  log?: (line: string) => void;
}

/** What happened to one plan. */
export interface PlanSync {
  plan: string;
  product: 'created' | 'renamed' | 'unchanged';
  price: 'created' | 'unchanged';
  priceId: string | null;
  /** The price that lost the lookup key and was archived. */
  archived: string | null;
  /** `plans.stripe_price_id` was (or would be) changed. */
  stored: boolean;
}

/** The product id and lookup key of a plan's Stripe objects. */
export const stripeKeyFor = (planId: string) => `edgebrain_${planId}`;

const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency.toUpperCase()}`;

/** Syncs every priced plan (see the file comment); returns one {@link PlanSync} per plan, in id order. */
export async function syncPlans(options: SyncOptions): Promise<PlanSync[]> {
  const { stripe, supabase, dryRun = false } = options;
  const log = options.log ?? (() => {});
  const would = dryRun ? 'would be ' : '';
  const { data: plans, error } = await supabase
    .from('plans')
    .select('id, name, stripe_price_id, price_amount, price_currency, price_interval')
    .order('id');
  if (error) throw new Error(`Reading plans failed: ${error.message}`);

  const results: PlanSync[] = [];
  for (const plan of plans) {
    if (plan.price_amount === null) {
      log(`${plan.id}: no price_amount (a free plan), skipped`);
      continue;
    }
    const key = stripeKeyFor(plan.id);
    const result: PlanSync = { plan: plan.id, product: 'unchanged', price: 'unchanged', priceId: null, archived: null, stored: false };

    const product = await retrieveProduct(stripe, key);
    if (!product) {
      if (!dryRun) {
        await stripe.products.create(
          { id: key, name: plan.name, metadata: { plan_id: plan.id } },
          { idempotencyKey: `stripe-sync:product:${key}:create` },
        );
      }
      result.product = 'created';
      log(`${plan.id}: product ${key} ${would}created`);
    } else if (product.name !== plan.name) {
      if (!dryRun) {
        await stripe.products.update(key, { name: plan.name }, { idempotencyKey: `stripe-sync:product:${key}:name:${plan.name}` });
      }
      result.product = 'renamed';
      log(`${plan.id}: product ${key} ${would}renamed "${product.name}" → "${plan.name}"`);
    }

    const [current] = (await stripe.prices.list({ lookup_keys: [key], limit: 1 })).data;
    const matches =
      current &&
      current.active &&
      current.unit_amount === plan.price_amount &&
      current.currency === plan.price_currency &&
      current.recurring?.interval === plan.price_interval &&
      (typeof current.product === 'string' ? current.product : current.product.id) === key;
    const label = `${money(plan.price_amount, plan.price_currency)}/${plan.price_interval}`;
    if (matches) {
      result.priceId = current.id;
      log(`${plan.id}: price ${current.id} (${label}) up to date`);
    } else {
      if (!dryRun) {
        const created = await stripe.prices.create(
          {
            product: key,
            unit_amount: plan.price_amount,
            currency: plan.price_currency,
            recurring: { interval: plan.price_interval as Stripe.PriceCreateParams.Recurring.Interval },
            lookup_key: key,
            transfer_lookup_key: true,
            metadata: { plan_id: plan.id },
          },
          { idempotencyKey: `stripe-sync:price:${key}:${plan.price_amount}:${plan.price_currency}:${plan.price_interval}:${current?.id ?? 'first'}` },
        );
        result.priceId = created.id;
        if (current?.active) {
          await stripe.prices.update(current.id, { active: false }, { idempotencyKey: `stripe-sync:archive:${current.id}` });
        }
      }
      result.price = 'created';
      result.archived = current?.active ? current.id : null;
      log(`${plan.id}: price ${result.priceId ?? '(new)'} (${label}) ${would}created with lookup key ${key}`);
      if (result.archived) log(`${plan.id}: old price ${result.archived} ${would}archived (its subscribers keep it)`);
    }

    if (result.price === 'created' || plan.stripe_price_id !== result.priceId) {
      result.stored = true;
      if (!dryRun) {
        const { error: updateError } = await supabase.from('plans').update({ stripe_price_id: result.priceId }).eq('id', plan.id);
        if (updateError) throw new Error(`Writing plans.stripe_price_id of ${plan.id} failed: ${updateError.message}`);
      }
      log(`${plan.id}: plans.stripe_price_id ${would}set to ${result.priceId ?? 'the new price'}`);
    }
    results.push(result);
  }
  return results;
}

async function retrieveProduct(stripe: Stripe, id: string): Promise<Stripe.Product | null> {
  try {
    return await stripe.products.retrieve(id);
  } catch (error) {
    if (error instanceof Error && (error as { statusCode?: number }).statusCode === 404) return null;
    throw error;
  }
}

/**
 * The Stripe key and API base for a profile: `EDGEBRAIN_STRIPE_SECRET_KEY` / `EDGEBRAIN_STRIPE_API_BASE` from the
 * process environment or the profile's files (`.env`, `.env.<profile>`); for `dev` only, else the functions' own
 * `STRIPE_SECRET_KEY` / `STRIPE_API_BASE` (the process environment, then `supabase/functions/.env`), so a local
 * setup needs the key in one place.
 */
function stripeSettings(dir: string, profile: Profile): { secretKey?: string; apiBase?: string } {
  const files: Record<string, string> = {};
  for (const file of profile.files) Object.assign(files, parse(readFileSync(join(dir, file))));
  const functionsEnv = join(dir, 'supabase', 'functions', '.env');
  const local = profile.name === 'dev' && existsSync(functionsEnv) ? parse(readFileSync(functionsEnv)) : {};
  const pick = (name: string) =>
    process.env[`EDGEBRAIN_${name}`] ||
    files[`EDGEBRAIN_${name}`] ||
    (profile.name === 'dev' ? process.env[name] || local[name] : undefined) ||
    undefined;
  return { secretKey: pick('STRIPE_SECRET_KEY'), apiBase: pick('STRIPE_API_BASE') };
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((arg) => arg !== '--dry-run');
  if (unknown.length > 0) {
    console.error(`usage: npm run stripe:sync [-- --dry-run]\nunknown argument: ${unknown[0]}`);
    return 2;
  }
  const dryRun = argv.includes('--dry-run');
  const dir = process.cwd();
  let profile;
  try {
    profile = loadProfile(process.env, dir);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 6;
  }
  const { secretKey, apiBase } = stripeSettings(dir, profile);
  if (!secretKey) {
    const where = profile.name === 'dev' ? 'EDGEBRAIN_STRIPE_SECRET_KEY or STRIPE_SECRET_KEY (or supabase/functions/.env)' : 'EDGEBRAIN_STRIPE_SECRET_KEY';
    console.error(`error: no Stripe key for profile ${profile.name}: set ${where}; see docs/billing.md.`);
    return 6;
  }
  const mode = secretKey.includes('_live_') ? 'LIVE' : 'test';
  console.error(`Syncing plans of ${profile.supabaseUrl} (profile ${profile.name}) with Stripe in ${mode} mode${dryRun ? ' — dry run, nothing is written' : ''}.`);
  const supabase = createContext(profile, false).admin;
  try {
    const results = await syncPlans({ stripe: createStripe({ secretKey, apiBase }), supabase, dryRun, log: (line) => console.error(line) });
    const changed = results.filter((r) => r.product !== 'unchanged' || r.price !== 'unchanged' || r.stored).length;
    console.error(`${results.length} priced plan(s); ${changed} ${dryRun ? 'would change' : 'changed'}.`);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
