#!/usr/bin/env -S npx tsx
/**
 * `npm run screenshots` — renders the README's pictures of the browser app and the API docs from the real thing:
 * an ephemeral lite stack, the app built by Vite, a demo user who uploads a document and asks about it, and
 * Swagger UI after "Authorize" and "Try it out". Writes `docs/screenshots/*.png`.
 */
import { join, resolve } from 'node:path';
import { createStack } from '../stack/index.ts';
import { serveFreshBuild } from '../stack/web.ts';
import { authorizeInSwaggerUi, launchChromium, tryNewMovies } from './browser.ts';

const OUT = resolve(import.meta.dirname, '../docs/screenshots');
const EMAIL = 'ada@example.com';
const PASSWORD = 'analytical-engine-1843';
const HANDBOOK = `# Team handbook

## Holidays
Everyone has 28 days of paid holiday a year, plus public holidays. Book holidays at least two weeks ahead in the
team calendar; up to five unused days carry over to the next year.

## Expenses
Travel, conference tickets and books for work are paid back within ten working days. Keep receipts and submit
them in the expenses tool by the end of the month.

## On-call
Engineers join the on-call rota after three months. A week on call earns one extra day of holiday.
`;

function step(text: string): void {
  console.log(`· ${text}`);
}

async function main(): Promise<void> {
  step('starting an ephemeral lite stack');
  const stack = await createStack({ ephemeral: true, apiPort: 0, dbPort: 0, log: () => {} });
  try {
    step('building the browser app');
    const web = await serveFreshBuild({ supabaseUrl: stack.apiUrl, publishableKey: stack.keys.publishable });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1360, height: 820 }, deviceScaleFactor: 1 });
      page.setDefaultTimeout(60_000);

      step(`signing up ${EMAIL}`);
      await page.goto(web.url);
      await page.screenshot({ path: join(OUT, 'sign-in.png') });
      await page.getByRole('button', { name: 'Sign up' }).first().click();
      const form = page.getByRole('form', { name: 'Create an account' });
      await form.getByLabel('E-mail').fill(EMAIL);
      await form.getByLabel('Password').fill(PASSWORD);
      await form.getByRole('button', { name: 'Sign up' }).click();

      step('uploading handbook.md and waiting until it is processed');
      await page.getByLabel('Upload files').setInputFiles({ name: 'handbook.md', mimeType: 'text/markdown', buffer: Buffer.from(HANDBOOK) });
      const item = page.getByRole('complementary', { name: 'Documents' }).getByRole('listitem', { name: 'handbook.md' });
      await item.getByText(/^Ready/).waitFor();

      step('asking a question');
      await page.getByLabel('Question', { exact: true }).fill('How many days of holiday do we get?');
      await page.getByRole('button', { name: 'Ask' }).click();
      await page.locator('article[data-role="assistant"]').getByRole('list', { name: 'Sources' }).waitFor();
      await page.getByTestId('usage-count').getByText('1 / 20').waitFor();
      await page.screenshot({ path: join(OUT, 'app.png') });

      step('opening the API docs, authorizing and trying GET /movies/new');
      await page.goto(`${web.url}/docs/`);
      await authorizeInSwaggerUi(page, EMAIL, PASSWORD);
      const operation = await tryNewMovies(page);
      await operation.locator('.live-responses-table .response-col_status').getByText('200').waitFor();
      // The operation near the top, with its parameters, the curl line and the start of the films.
      await operation.evaluate((el) => window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 24));
      await page.screenshot({ path: join(OUT, 'api-docs.png'), fullPage: false });
    } finally {
      await browser.close();
      await web.close();
    }
    step(`wrote ${['sign-in.png', 'app.png', 'api-docs.png'].map((f) => join('docs/screenshots', f)).join(', ')}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
