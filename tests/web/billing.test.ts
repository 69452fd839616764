import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, serveBuiltApp } from '../helpers/browser.ts';
import { uniqueEmail } from '../helpers/stack.ts';
import { deliver, startBillingStack, type BillingStack, WEBHOOK_SECRET } from '../functions/_shared/stripe/billing.ts';
import { signedDelivery, stripeEvent, subscriptionObject } from '../functions/_shared/stripe/events.ts';
import { stripeId } from '../functions/_shared/stripe/fake-stripe.ts';

// The app's billing buttons in real Chromium: the billing function (real Deno) talks to the fake Stripe, and the
// Stripe-hosted pages (Checkout, the Customer Portal) are answered by the test, since nothing outside is reachable.
let billing: BillingStack;
let web: Awaited<ReturnType<typeof serveBuiltApp>>;
let browser: Browser;

beforeAll(async () => {
  billing = await startBillingStack();
  [web, browser] = await Promise.all([serveBuiltApp(billing.stack), launchChromium()]);
});

afterAll(async () => {
  await browser?.close();
  await web?.close();
  await billing?.stop();
});

/** For `expect.poll`: what the page shows a moment later (its default waits only one second). */
const SOON = { timeout: 30_000, interval: 100 };

describe('billing in the browser app', () => {
  it('upgrades through Stripe Checkout, shows the new plan and its limit once the webhook applied it, and opens the portal', { timeout: 180_000 }, async () => {
    const { stack, fake, prices } = billing;
    const page = await browser.newPage();
    page.setDefaultTimeout(30_000);
    const stripePages: string[] = [];
    await page.route(/^https:\/\/(checkout|billing)\.stripe\.com\//, (route) => {
      stripePages.push(route.request().url());
      return route.fulfill({ contentType: 'text/html', body: '<h1>Stripe</h1>' });
    });

    await page.goto(web.url);
    await page.getByRole('button', { name: 'Sign up' }).first().click();
    const form = page.getByRole('form', { name: 'Create an account' });
    await form.getByLabel('E-mail').fill(uniqueEmail('billing'));
    await form.getByLabel('Password').fill('correct-horse-battery-staple');
    await form.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => page.getByTestId('plan-name').textContent(), SOON).toBe('Free plan');
    expect(await page.getByRole('button', { name: 'Manage billing' }).count()).toBe(0);

    // Upgrade: the app asks the billing function for a Checkout Session for pro and goes there.
    const mark = fake.requests.length;
    await Promise.all([page.waitForURL(/checkout\.stripe\.com/), page.getByRole('button', { name: 'Upgrade to Pro' }).click()]);
    const session = fake.requests.slice(mark).find((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
    expect(session?.form).toMatchObject({ mode: 'subscription', line_items: [{ price: prices.pro, quantity: '1' }] });
    const customer = String(session?.form.customer);
    expect(stripePages[0]).toMatch(/^https:\/\/checkout\.stripe\.com\/c\/pay\/cs_/);

    // Stripe sends the subscription's events; the webhook applies them.
    const { rows } = await stack.db.query<{ user_id: string }>('select user_id from public.stripe_customers where stripe_customer_id = $1', [customer]);
    const now = Math.floor(Date.now() / 1000);
    const subscription = subscriptionObject({
      id: stripeId('sub'),
      customer,
      price: prices.pro,
      status: 'active',
      periodStart: now,
      periodEnd: now + 30 * 86400,
      metadata: { user_id: rows[0].user_id },
    });
    fake.putSubscription(subscription);
    const delivered = await deliver(stack, await signedDelivery(stripeEvent('customer.subscription.created', subscription, now), WEBHOOK_SECRET));
    expect(delivered.status).toBe(200);

    // Back in the app (Checkout's success URL): the new plan, its daily limit, and "Manage billing".
    await page.goto(`${web.url}/?billing=success`);
    await page.getByRole('status').filter({ hasText: 'Thank you!' }).waitFor();
    await expect.poll(() => page.getByTestId('plan-name').textContent(), SOON).toBe('Pro plan');
    await expect.poll(() => page.getByTestId('usage-count').textContent(), SOON).toBe('0 / 500 questions today');
    await Promise.all([page.waitForURL(/billing\.stripe\.com/), page.getByRole('button', { name: 'Manage billing' }).click()]);
    expect(fake.requests.some((r) => r.method === 'POST' && r.path === '/v1/billing_portal/sessions' && r.form.customer === customer)).toBe(true);
    await page.close();
  });
});
