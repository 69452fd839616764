import type { Stack } from '../../stack/index.ts';
import { serveFreshBuild, type WebApp } from '../../stack/web.ts';

export { authorizeInSwaggerUi, launchChromium, tryNewMovies } from '../../scripts/browser.ts';

/** The browser app built once into a temporary directory and served for `stack`, as `npm run dev` serves it. */
export function serveBuiltApp(stack: Stack): Promise<WebApp> {
  return serveFreshBuild({ supabaseUrl: stack.apiUrl, publishableKey: stack.keys.publishable });
}
