import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../stack/index.ts';
import { buildWebApp, startWebApp, type WebApp } from '../../stack/web.ts';

export { authorizeInSwaggerUi, launchChromium, tryNewMovies } from '../../scripts/browser.ts';

/** The browser app built once into a temporary directory and served for `stack`, as `npm run dev` serves it. */
export async function serveBuiltApp(stack: Stack): Promise<WebApp> {
  const dir = await mkdtemp(join(tmpdir(), 'edgebrain-web-'));
  await buildWebApp(dir);
  const app = await startWebApp({ port: 0, mode: 'dist', distDir: dir, supabaseUrl: stack.apiUrl, publishableKey: stack.keys.publishable });
  return {
    url: app.url,
    async close() {
      await app.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
