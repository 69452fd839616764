import { existsSync } from 'node:fs';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';

/**
 * Where Chromium is: `CHROMIUM_PATH`, else Debian's `chromium` package (`apt-get install chromium`; its
 * `/usr/bin/chromium` is a shell wrapper, so the binary itself). playwright-core downloads no browser.
 */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/lib/chromium/chromium'].filter((p): p is string => Boolean(p));
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      'The browser tests and `npm run screenshots` need Chromium: `apt-get install chromium` (Debian/Ubuntu), or set CHROMIUM_PATH to a Chromium or Chrome binary.',
    );
  }
  return found;
}

/** Headless Chromium; `--no-sandbox` because CI containers run as root, where Chromium's sandbox cannot start. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** On the API docs page: "Authorize" with the OAuth2 password flow (the `token` function), then close the dialog. */
export async function authorizeInSwaggerUi(page: Page, email: string, password: string): Promise<void> {
  await page.getByRole('button', { name: 'Authorize' }).first().click();
  const dialog = page.locator('.modal-ux');
  const oauth = dialog.locator('.auth-container').filter({ hasText: 'oauth2' });
  await oauth.locator('input#oauth_username').fill(email);
  await oauth.locator('input#oauth_password').fill(password);
  await oauth.getByRole('button', { name: 'Apply given OAuth2 credentials' }).click();
  await oauth.getByRole('button', { name: 'Remove authorization' }).waitFor();
  await dialog.getByRole('button', { name: 'Close' }).first().click();
}

/** "Try it out" on the movies function's `GET /movies/new` (since 2000, rated 8.5 or more); returns the operation. */
export async function tryNewMovies(page: Page): Promise<Locator> {
  const operation = page.locator('.opblock-get').filter({ has: page.locator('[data-path="/movies/new"]') });
  await operation.locator('.opblock-summary-control').click();
  await operation.getByRole('button', { name: 'Try it out' }).click();
  await operation.locator('input[placeholder="year"]').fill('2000');
  await operation.locator('input[placeholder="rating"]').fill('8.5');
  await operation.getByRole('button', { name: 'Execute' }).click();
  return operation;
}
