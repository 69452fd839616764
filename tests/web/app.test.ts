import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/index.ts';
import { authorizeInSwaggerUi, launchChromium, serveBuiltApp, tryNewMovies } from '../helpers/browser.ts';
import { serviceClient, startTestStack, uniqueEmail } from '../helpers/stack.ts';
import { lastMailTo, linkIn } from '../stack/auth/mail-helpers.ts';

// The browser app in real Chromium against a whole stack: Auth, the functions in Deno, the worker run by the
// scheduler, and the app built by Vite and served as `npm run dev` serves it.
let stack: Stack;
let web: Awaited<ReturnType<typeof serveBuiltApp>>;
let browser: Browser;

beforeAll(async () => {
  stack = await startTestStack();
  [web, browser] = await Promise.all([serveBuiltApp(stack), launchChromium()]);
});

afterAll(async () => {
  // After every test here: nothing was fetched from outside (no CDN, no fonts, no analytics).
  expect(outside).toEqual([]);
  await browser?.close();
  await web?.close();
  await stack?.stop();
});

const PASSWORD = 'correct-horse-battery-staple';
const NOTES = [
  '# Skerry Point lighthouse',
  '',
  'The lighthouse on Skerry Point was automated in 1987, when its last keeper, Morag Innes, retired.',
  'Its lamp flashes white twice every fifteen seconds and can be seen for twenty-two nautical miles.',
  '',
  '## Visiting',
  '',
  'The tower is open to visitors on Saturdays from May to September.',
].join('\n');

/** Every request a page makes to anything but this machine: the app and the docs load nothing from a CDN. */
const outside: string[] = [];

async function newPage(): Promise<Page> {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.hostname !== '127.0.0.1' && url.protocol !== 'data:' && url.protocol !== 'blob:') outside.push(request.url());
  });
  return page;
}

async function signUp(page: Page, email: string): Promise<void> {
  await page.goto(web.url);
  await page.getByRole('button', { name: 'Sign up' }).first().click();
  const form = page.getByRole('form', { name: 'Create an account' });
  await form.getByLabel('E-mail').fill(email);
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

function documentItem(page: Page, name: string) {
  return page.getByRole('complementary', { name: 'Documents' }).getByRole('listitem', { name });
}

/** For `expect.poll`: what the page shows a moment later (its default waits only one second). */
const SOON = { timeout: 30_000, interval: 100 };

describe('the browser app', () => {
  it('signs up, uploads with progress, shows processing until ready, answers with a citation and moves the usage meter', { timeout: 180_000 }, async () => {
    const page = await newPage();
    const email = uniqueEmail('web');
    await signUp(page, email);
    await expect.poll(() => page.getByTestId('usage-count').textContent(), SOON).toBe('0 / 20 questions today');

    await page.getByLabel('Upload files').setInputFiles({ name: 'lighthouse.md', mimeType: 'text/markdown', buffer: Buffer.from(NOTES) });
    const item = documentItem(page, 'lighthouse.md');
    await item.waitFor();
    await expect.poll(() => item.getByTestId('document-status').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/^Ready · \d+ passages/);

    // Ask: the answer streams from the chat function (an event stream) and cites the document.
    const streamed = page.waitForResponse((r) => r.url().endsWith('/functions/v1/chat') && r.request().method() === 'POST');
    await page.getByLabel('Question', { exact: true }).fill('When was the lighthouse automated?');
    await page.getByRole('button', { name: 'Ask' }).click();
    const response = await streamed;
    expect(response.status()).toBe(200);
    expect(response.headers()['content-type']).toContain('text/event-stream');
    expect(response.headers()['x-vercel-ai-ui-message-stream']).toBe('v1');

    const answer = page.locator('article[data-role="assistant"]').last();
    await answer.getByRole('list', { name: 'Sources' }).waitFor();
    await expect.poll(() => answer.locator('.text').textContent(), SOON).toContain('automated in 1987');
    const citation = answer.getByRole('button', { name: /^\[1\] lighthouse\.md/ });
    expect(await citation.count()).toBe(1);

    // The usage meter counts the question.
    await expect.poll(() => page.getByTestId('usage-count').textContent(), SOON).toBe('1 / 20 questions today');

    // The citation opens the source itself through a short-lived signed URL.
    const [popup] = await Promise.all([page.waitForEvent('popup'), citation.click()]);
    await popup.waitForLoadState();
    expect(popup.url()).toMatch(/\/storage\/v1\/object\/sign\/documents\/.+lighthouse\.md\?token=/);
    expect(await popup.locator('body').textContent()).toContain('Skerry Point');

    // The history sidebar lists the chat; opening it again shows the stored answer with its citation.
    const chats = page.getByRole('navigation', { name: 'Chats' });
    await chats.getByRole('button', { name: 'When was the lighthouse automated?', exact: true }).waitFor();
    await chats.getByRole('button', { name: 'New chat' }).click();
    await page.getByText('Ask a question about your documents.').waitFor();
    await chats.getByRole('button', { name: 'When was the lighthouse automated?', exact: true }).click();
    await page.locator('article[data-role="assistant"]').getByRole('button', { name: /^\[1\] lighthouse\.md/ }).waitFor();
    await page.close();
  });

  it('sends a large file straight to Storage with a moving progress bar, and says why processing failed', { timeout: 180_000 }, async () => {
    const page = await newPage();
    await signUp(page, uniqueEmail('web-large'));
    // A slow uplink (2 MB/s), so the progress bar has time to move; sample what it shows.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 });
    await page.evaluate(() => {
      const seen = new Set<number>();
      (window as unknown as { progressSeen: Set<number> }).progressSeen = seen;
      setInterval(() => document.querySelectorAll<HTMLProgressElement>('progress[aria-label^="Upload of"]').forEach((p) => seen.add(p.value)), 20);
    });
    const signed = page.waitForResponse((r) => r.url().endsWith('/functions/v1/upload/sign'));
    const stored = page.waitForResponse((r) => r.url().includes('/storage/v1/object/upload/sign/documents/'));
    // Over the 6 MiB the upload function takes: a signed upload URL, then the bytes go to Storage directly.
    // Not a PDF inside, so processing fails, and the list says why in a sentence.
    const large = Buffer.alloc(7 * 1024 * 1024, 'not a pdf ');
    await page.getByLabel('Upload files').setInputFiles({ name: 'scan.pdf', mimeType: 'application/pdf', buffer: large });
    expect((await signed).status()).toBe(200);
    expect((await stored).status()).toBe(200);
    const seen = await page.evaluate(() => [...(window as unknown as { progressSeen: Set<number> }).progressSeen]);
    expect(seen.filter((v) => v > 0 && v < 1).length, `progress values seen: ${seen.join(', ')}`).toBeGreaterThan(1);

    const item = documentItem(page, 'scan.pdf');
    await expect.poll(() => item.getByTestId('document-status').textContent(), { timeout: 60_000, interval: 250 }).toBe('Failed');
    const reason = await item.locator('p.error').textContent();
    expect(reason).toMatch(/^[A-Z].+\.$/);
    expect(reason).not.toMatch(/_[a-z]/);
    await page.close();
  });

  it('says what went wrong in sentences: a duplicate name, an unsupported file, a wrong password', async () => {
    const page = await newPage();
    const email = uniqueEmail('web-errors');
    await signUp(page, email);
    const upload = page.getByLabel('Upload files');

    await upload.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('first version') });
    await documentItem(page, 'notes.txt').waitFor();
    await upload.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('second version') });
    await page.getByRole('alert').filter({ hasText: 'You already have a file with this name.' }).waitFor();

    await upload.setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) });
    await page.getByRole('alert').filter({ hasText: 'This kind of file cannot be read.' }).waitFor();
    expect(await page.getByRole('alert').filter({ hasText: /_[a-z]+_|\b(409|415)\b/ }).count()).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('E-mail').fill(email);
    await form.getByLabel('Password').fill('not-the-password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: 'The e-mail address or password is not right.' }).waitFor();
    await page.close();
  }, 120_000);

  it('resets a forgotten password through the link the mailbox caught', { timeout: 120_000 }, async () => {
    const page = await newPage();
    const email = uniqueEmail('web-reset');
    await signUp(page, email);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    const reset = page.getByRole('form', { name: 'Reset your password' });
    await reset.getByLabel('E-mail').fill(email);
    await reset.getByRole('button', { name: 'Send reset link' }).click();
    await reset.getByRole('status').filter({ hasText: 'an e-mail with a link to choose a new password is on its way' }).waitFor();

    // The link verifies the token and redirects to an allowed URL: the site URL (:3000), which here stands for
    // this app on its test port, carrying the recovery session in the fragment.
    const link = linkIn(await lastMailTo(stack, email));
    await page.route('http://127.0.0.1:3000/**', (route) =>
      route.fulfill({ contentType: 'text/html', body: `<script>location.replace(${JSON.stringify(web.url)} + '/' + location.hash)</script>` }),
    );
    await page.goto(link);
    const choose = page.getByRole('form', { name: 'Choose a new password' });
    await choose.getByLabel('New password').fill('a-brand-new-passphrase');
    await choose.getByRole('button', { name: 'Save password' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();

    const signIn = page.getByRole('form', { name: 'Sign in' });
    await signIn.getByLabel('E-mail').fill(email);
    await signIn.getByLabel('Password').fill('a-brand-new-passphrase');
    await signIn.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await page.close();
  });

  it('deletes and reprocesses documents from the list', async () => {
    const page = await newPage();
    await signUp(page, uniqueEmail('web-docs'));
    await page.getByLabel('Upload files').setInputFiles({ name: 'keep.md', mimeType: 'text/markdown', buffer: Buffer.from(NOTES) });
    const item = documentItem(page, 'keep.md');
    await expect.poll(() => item.getByTestId('document-status').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/^Ready/);

    await item.getByRole('button', { name: 'Reprocess' }).click();
    await expect.poll(() => item.getByTestId('document-status').textContent(), { timeout: 60_000, interval: 100 }).not.toMatch(/^Ready/);
    await expect.poll(() => item.getByTestId('document-status').textContent(), { timeout: 60_000, interval: 250 }).toMatch(/^Ready/);

    page.once('dialog', (dialog) => void dialog.accept());
    await item.getByRole('button', { name: 'Delete' }).click();
    await item.waitFor({ state: 'detached' });
    const { data } = await serviceClient(stack).from('documents').select('id').eq('name', 'keep.md');
    expect(data).toEqual([]);
    await page.close();
  }, 180_000);
});

describe('the API docs page', () => {
  it('lists every function, signs in with the OAuth2 password flow and runs "Try it out" on movies', async () => {
    const email = uniqueEmail('docs');
    const created = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true });
    expect(created.error).toBeNull();
    const page = await newPage();

    await page.goto(`${web.url}/docs`);
    const names = await page.getByLabel('Function').locator('option').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['chat', 'documents', 'movies', 'token', 'upload']));
    await page.locator('.swagger-ui .info .title').filter({ hasText: 'edgebrain movies' }).waitFor();

    await authorizeInSwaggerUi(page, email, PASSWORD);
    const operation = await tryNewMovies(page);
    const live = operation.locator('.live-responses-table .response');
    await expect.poll(() => live.locator('.response-col_status').textContent(), SOON).toBe('200');
    const films = JSON.parse((await live.locator('.response-col_description pre code').first().textContent()) ?? '[]');
    expect(films.map((film: { title: string }) => film.title)).toEqual(['The Dark Knight', 'Inception', 'Spirited Away', 'Parasite']);
    expect(outside).toEqual([]);
    await page.close();
  }, 120_000);
});

describe('a build for a hosted project', () => {
  it('takes the project from VITE_SUPABASE_URL and VITE_SUPABASE_PUBLISHABLE_KEY and runs from any static host', { timeout: 180_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgebrain-hosted-'));
    // Exactly what the docs tell a user to run, with this stack standing in for the hosted project.
    await promisify(execFile)('npm', ['run', 'web:build', '--', '--outDir', dir, '--emptyOutDir'], {
      env: { ...process.env, VITE_SUPABASE_URL: stack.apiUrl, VITE_SUPABASE_PUBLISHABLE_KEY: stack.keys.publishable },
    });
    expect(await readFile(join(dir, 'index.html'), 'utf8')).not.toContain('__EDGEBRAIN__');
    // A plain static server: nothing is written into the pages.
    const app = new Hono();
    app.use('*', serveStatic({ root: dir }));
    const server = createServer(getRequestListener(app.fetch));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const email = uniqueEmail('hosted');
      expect((await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true })).error).toBeNull();
      const page = await newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const form = page.getByRole('form', { name: 'Sign in' });
      await form.getByLabel('E-mail').fill(email);
      await form.getByLabel('Password').fill(PASSWORD);
      await form.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      await expect.poll(() => page.getByTestId('usage-count').textContent(), SOON).toBe('0 / 20 questions today');
      await page.close();
    } finally {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
