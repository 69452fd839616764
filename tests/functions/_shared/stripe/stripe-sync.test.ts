import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPlans } from '../../../../scripts/stripe-sync.ts';
import type { Stack } from '../../../../stack/index.ts';
import { createStripe } from '../../../../supabase/functions/_shared/billing/stripe.ts';
import { serviceClient, startTestStack } from '../../../helpers/stack.ts';
import { type FakeStripe, startFakeStripe } from './fake-stripe.ts';

// `npm run stripe:sync`: the real script against a lite stack's plans table and the fake Stripe.
const run = promisify(execFile);
let stack: Stack;
let fake: FakeStripe;

beforeAll(async () => {
  fake = await startFakeStripe();
  stack = await startTestStack({ seed: false, scheduler: false });
});

afterAll(async () => {
  await stack?.stop();
  await fake?.close();
});

/** Runs the script against the test stack and the fake; `env` adds to (or blanks) the variables. */
async function cli(args: string[] = [], extra: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  const env = {
    ...process.env,
    EDGEBRAIN_ENV: 'dev',
    EDGEBRAIN_SUPABASE_URL: stack.apiUrl,
    EDGEBRAIN_SECRET_KEY: stack.keys.secret,
    EDGEBRAIN_STRIPE_SECRET_KEY: fake.secretKey,
    EDGEBRAIN_STRIPE_API_BASE: fake.apiBase,
    ...extra,
  };
  try {
    const { stderr } = await run(join('node_modules', '.bin', 'tsx'), ['scripts/stripe-sync.ts', ...args], { env, timeout: 60_000 });
    return { code: 0, stderr };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr };
  }
}

async function proPrice(): Promise<string | null> {
  const { rows } = await stack.db.query<{ stripe_price_id: string | null }>("select stripe_price_id from public.plans where id = 'pro'");
  return rows[0].stripe_price_id;
}

const writes = (mark: number) => fake.requests.slice(mark).filter((r) => r.method === 'POST');

describe('npm run stripe:sync', () => {
  it('with --dry-run says what it would create and writes nothing (dev: the functions\' STRIPE_* variables do)', async () => {
    const mark = fake.requests.length;
    const functionsVars = { EDGEBRAIN_STRIPE_SECRET_KEY: '', EDGEBRAIN_STRIPE_API_BASE: '', STRIPE_SECRET_KEY: fake.secretKey, STRIPE_API_BASE: fake.apiBase };
    const { code, stderr } = await cli(['--dry-run'], functionsVars);
    expect(code).toBe(0);
    expect(stderr).toContain('dry run, nothing is written');
    expect(stderr).toContain('free: no price_amount (a free plan), skipped');
    expect(stderr).toContain('pro: product edgebrain_pro would be created');
    expect(stderr).toContain('pro: price (new) (19.00 USD/month) would be created with lookup key edgebrain_pro');
    expect(writes(mark)).toEqual([]);
    expect(await proPrice()).toBeNull();
  });

  it('creates the product and price, with idempotency keys, and writes the price id into plans', async () => {
    const mark = fake.requests.length;
    const { code, stderr } = await cli();
    expect(code).toBe(0);
    const sent = writes(mark);
    expect(sent.map((r) => r.path)).toEqual(['/v1/products', '/v1/prices']);
    expect(sent[0].form).toEqual({ id: 'edgebrain_pro', name: 'Pro', metadata: { plan_id: 'pro' } });
    expect(sent[1].form).toEqual({
      product: 'edgebrain_pro',
      unit_amount: '1900',
      currency: 'usd',
      recurring: { interval: 'month' },
      lookup_key: 'edgebrain_pro',
      transfer_lookup_key: 'true',
      metadata: { plan_id: 'pro' },
    });
    expect(sent.every((r) => typeof r.headers['idempotency-key'] === 'string')).toBe(true);
    const price = await proPrice();
    expect(fake.prices.get(price!)).toMatchObject({ lookup_key: 'edgebrain_pro', unit_amount: 1900, active: true });
    expect(stderr).toContain(`pro: plans.stripe_price_id set to ${price}`);
    expect(stderr).toContain('1 priced plan(s); 1 changed.');
  });

  it('changes nothing when run again', async () => {
    const before = await proPrice();
    const mark = fake.requests.length;
    const { code, stderr } = await cli();
    expect(code).toBe(0);
    expect(writes(mark)).toEqual([]);
    expect(stderr).toContain(`pro: price ${before} (19.00 USD/month) up to date`);
    expect(stderr).toContain('1 priced plan(s); 0 changed.');
    expect(await proPrice()).toBe(before);
  });

  it('moves the lookup key to a new price when the amount changes, archives the old one, and renames the product', async () => {
    const old = (await proPrice())!;
    await stack.db.query("update public.plans set price_amount = 2900, name = 'Pro+' where id = 'pro'");
    const lines: string[] = [];
    const stripe = createStripe({ secretKey: fake.secretKey, apiBase: fake.apiBase });
    const results = await syncPlans({ stripe, supabase: serviceClient(stack) as never, log: (line) => lines.push(line) });
    const fresh = (await proPrice())!;
    expect(results).toEqual([{ plan: 'pro', product: 'renamed', price: 'created', priceId: fresh, archived: old, stored: true }]);
    expect(fresh).not.toBe(old);
    expect(fake.prices.get(fresh)).toMatchObject({ lookup_key: 'edgebrain_pro', unit_amount: 2900, active: true });
    expect(fake.prices.get(old)).toMatchObject({ lookup_key: null, active: false });
    expect(fake.products.get('edgebrain_pro')).toMatchObject({ name: 'Pro+' });
    expect(lines).toContain(`pro: old price ${old} archived (its subscribers keep it)`);
    expect(await syncPlans({ stripe, supabase: serviceClient(stack) as never })).toEqual([
      { plan: 'pro', product: 'unchanged', price: 'unchanged', priceId: fresh, archived: null, stored: false },
    ]);
  });

  it('exits 6 naming the Stripe key variables when no Stripe key is set, and 2 on an unknown argument', async () => {
    expect(await cli(['--live'])).toMatchObject({ code: 2 });
    // Run from an empty folder, so no .env of a developer's supplies a key.
    const empty = await mkdtemp(join(tmpdir(), 'stripe-sync-'));
    const env = {
      ...process.env,
      EDGEBRAIN_ENV: 'dev',
      EDGEBRAIN_SUPABASE_URL: stack.apiUrl,
      EDGEBRAIN_SECRET_KEY: stack.keys.secret,
      EDGEBRAIN_STRIPE_SECRET_KEY: '',
      STRIPE_SECRET_KEY: '',
    };
    const failed = await run(resolve('node_modules/.bin/tsx'), [resolve('scripts/stripe-sync.ts')], { env, cwd: empty }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    await rm(empty, { recursive: true });
    expect({ code: failed.code, stderr: failed.stderr.trim() }).toEqual({
      code: 6,
      stderr:
        'error: no Stripe key for profile dev: set EDGEBRAIN_STRIPE_SECRET_KEY or STRIPE_SECRET_KEY (or supabase/functions/.env); see docs/billing.md.',
    });
  });
});
