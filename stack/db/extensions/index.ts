import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Extension, PGlite } from '@electric-sql/pglite';

const EXTENSIONS_DIR = fileURLToPath(new URL('./', import.meta.url));

/**
 * Every version of an extension the lite stack writes ends with this, e.g. `1.6-lite`: the scheduler acts only on
 * extensions carrying it, so a real pg_cron or pg_net (with `--db-url`) is never doubled by the stack.
 */
export const LITE_VERSION_SUFFIX = '-lite';

/** True for an `extversion` written by the lite stack. */
export function isLiteVersion(version: string | null | undefined): boolean {
  return typeof version === 'string' && version.endsWith(LITE_VERSION_SUFFIX);
}

/**
 * pg_cron, pg_net and supabase_vault for PGlite: our own control and script files (in this folder), copied into
 * PGlite's extension directory when the database starts, so that `create extension` installs them, `drop extension`
 * removes them and `pg_extension` lists them, exactly as on a server that has the real packages. The files live in
 * PGlite's in-memory file system, so they are written again at every start.
 */
export const liteExtensions: Extension = {
  name: 'lite-extensions',
  async setup(pg) {
    const files = (await readdir(EXTENSIONS_DIR)).filter((f) => f.endsWith('.control') || f.endsWith('.sql'));
    const contents = await Promise.all(files.map(async (f) => [f, await readFile(EXTENSIONS_DIR + f)] as const));
    return {
      init: async () => {
        const pglite = pg as PGlite;
        const dir = `${pglite.Module.WASM_PREFIX}/share/postgresql/extension`;
        for (const [name, bytes] of contents) pglite.copyToFS(`${dir}/${name}`, bytes);
      },
    };
  },
};
