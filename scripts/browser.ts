import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

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
