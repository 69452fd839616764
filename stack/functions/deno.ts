import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (where `node_modules` with the `deno` package lives). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const require = createRequire(import.meta.url);

function platformPackage(): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
  if (process.platform === 'win32') return `@deno/win32-${arch}`;
  if (process.platform === 'darwin') return `@deno/darwin-${arch}`;
  return `@deno/linux-${arch}-glibc`;
}

let cachedBinary: string | undefined;

/**
 * Path of the Deno executable installed by the npm package `deno`: the copy its install script places next to
 * `bin.cjs`, else the binary inside the platform package. `DENO_BINARY` overrides both.
 */
export function denoBinary(): string {
  if (process.env.DENO_BINARY) return process.env.DENO_BINARY;
  if (cachedBinary) return cachedBinary;
  const exe = process.platform === 'win32' ? 'deno.exe' : 'deno';
  const candidates: string[] = [];
  for (const pkg of ['deno', platformPackage()]) {
    try {
      candidates.push(join(dirname(require.resolve(`${pkg}/package.json`)), exe));
    } catch {
      // not installed for this platform
    }
  }
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`Deno binary not found (looked in ${candidates.join(', ') || 'node_modules'}); run npm install`);
  cachedBinary = found;
  return found;
}

/**
 * Deno's cache directory (transpiled modules, type-check results). Shared by every stack and test on this
 * machine so nothing is rebuilt per test; npm packages are not downloaded at all (they resolve from
 * `node_modules`, see `NODE_MODULES_FLAG`). `DENO_DIR` in the environment wins, so CI can point it at a cache.
 */
export function denoDir(): string {
  const dir = process.env.DENO_DIR ?? join(REPO_ROOT, 'node_modules', '.cache', 'deno');
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * Resolve `npm:` specifiers from the repository's `node_modules` ("bring your own node_modules"), so Deno runs
 * the very package versions Node and vitest use, offline. Passed on the command line rather than written into
 * each function's `deno.json`, so that file stays a plain import map that `supabase functions deploy` bundles
 * from the npm registry as usual.
 */
export const NODE_MODULES_FLAG = '--node-modules-dir=manual';
