/**
 * Serves the browser app (`web/`) for the lite stack: through Vite with hot reload while developing, or a
 * finished build (`web/dist`, or any directory `buildWebApp` wrote). Either way each page gets the stack's
 * address and publishable key written into it, so one build works whatever ports the stack runs on.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono } from 'hono';

const WEB_ROOT = resolve(import.meta.dirname, '../web');
const CONFIG_FILE = join(WEB_ROOT, 'vite.config.ts');
const CONFIG_MARKER = '<!--edgebrain:config-->';
/** The app's pages: the request path and the HTML file under the app's root. */
const PAGES: Record<string, string> = { '/': 'index.html', '/index.html': 'index.html', '/docs/': 'docs/index.html', '/docs/index.html': 'docs/index.html' };

export interface WebAppOptions {
  /** Port; 0 picks a free one. */
  port: number;
  host?: string;
  /** The API gateway's URL and publishable key, written into every page. */
  supabaseUrl: string;
  publishableKey: string;
  /** `dev`: Vite with hot reload (the default); `dist`: serve a finished build from `distDir`. */
  mode?: 'dev' | 'dist';
  distDir?: string;
}

export interface WebApp {
  url: string;
  close(): Promise<void>;
}

/** The script that tells the app where its project is; JSON-escaped so it cannot close the script element. */
export function configScript(options: Pick<WebAppOptions, 'supabaseUrl' | 'publishableKey'>): string {
  const json = JSON.stringify({ supabaseUrl: options.supabaseUrl, publishableKey: options.publishableKey }).replace(/</g, '\\u003c');
  return `<script>window.__EDGEBRAIN__ = ${json};</script>`;
}

export async function startWebApp(options: WebAppOptions): Promise<WebApp> {
  const host = options.host ?? '127.0.0.1';
  const inject = (html: string) => html.replace(CONFIG_MARKER, configScript(options));
  const server = createServer();
  let stopVite: (() => Promise<void>) | undefined;

  if ((options.mode ?? 'dev') === 'dev') {
    const { createServer: createViteServer } = await import('vite');
    const vite = await createViteServer({
      configFile: CONFIG_FILE,
      appType: 'custom',
      server: { middlewareMode: true, ws: { server } },
    });
    stopVite = () => vite.close();
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const path = pathOf(req);
      if (path === '/docs') return redirect(res, '/docs/');
      const page = PAGES[path];
      if (req.method === 'GET' && page) {
        readFile(join(WEB_ROOT, page), 'utf8')
          .then((html) => vite.transformIndexHtml(path, html))
          .then((html) => sendHtml(res, inject(html)))
          .catch((error: unknown) => {
            vite.ssrFixStacktrace(error as Error);
            res.statusCode = 500;
            res.end(String(error));
          });
        return;
      }
      vite.middlewares(req, res, () => {
        res.statusCode = 404;
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.end('Not found');
      });
    });
  } else {
    const distDir = resolve(options.distDir ?? join(WEB_ROOT, 'dist'));
    const pages = new Map<string, string>();
    for (const [path, file] of Object.entries(PAGES)) {
      pages.set(path, inject(await readFile(join(distDir, file), 'utf8')));
    }
    const app = new Hono();
    app.get('/docs', (c) => c.redirect('/docs/', 301));
    app.get('*', async (c, next) => {
      const html = pages.get(c.req.path);
      return html ? c.html(html) : next();
    });
    app.use('*', serveStatic({ root: distDir }));
    app.notFound((c) => c.text('Not found', 404));
    server.on('request', getRequestListener(app.fetch));
  }

  const port = await new Promise<number>((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolvePort((server.address() as AddressInfo).port));
  });
  return {
    url: `http://${host}:${port}`,
    async close() {
      await stopVite?.();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** Builds the app into `outDir` (as `npm run web:build` does into `web/dist`). */
export async function buildWebApp(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: CONFIG_FILE, build: { outDir, emptyOutDir: true }, logLevel: 'error' });
}

/**
 * The app built into a temporary directory and served from it (port 0 by default), for the browser tests and
 * `npm run screenshots`; closing it deletes the build.
 */
export async function serveFreshBuild(options: Omit<WebAppOptions, 'mode' | 'distDir' | 'port'> & { port?: number }): Promise<WebApp> {
  const dir = await mkdtemp(join(tmpdir(), 'edgebrain-web-'));
  try {
    await buildWebApp(dir);
    const app = await startWebApp({ ...options, port: options.port ?? 0, mode: 'dist', distDir: dir });
    return {
      url: app.url,
      async close() {
        await app.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}

function redirect(res: ServerResponse, location: string): void {
  res.statusCode = 301;
  res.setHeader('location', location);
  res.end();
}

function sendHtml(res: ServerResponse, html: string): void {
  res.statusCode = 200;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(html);
}
