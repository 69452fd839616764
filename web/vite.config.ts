import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import { functionNames } from './functions.ts';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The browser app and the API docs page: two pages, one build. `npm run dev` serves it through Vite with hot
 * reload on http://127.0.0.1:3000; `npm run web:build` writes static files to `web/dist` for any static host
 * (set VITE_SUPABASE_URL and VITE_SUPABASE_PUBLISHABLE_KEY for a hosted project).
 */
export default defineConfig({
  root,
  // VITE_* variables come from the environment or the repo root's `.env` files (only VITE_* reach the browser).
  envDir: fileURLToPath(new URL('..', import.meta.url)),
  plugins: [react()],
  define: { __EDGEBRAIN_FUNCTIONS__: JSON.stringify(functionNames()) },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Swagger UI is one large module; it only loads on the docs page.
    chunkSizeWarningLimit: 2048,
    rollupOptions: { input: { app: `${root}index.html`, docs: `${root}docs/index.html` } },
  },
  server: { host: '127.0.0.1', port: 3000, strictPort: true },
  logLevel: 'warn',
});
