import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ProjectConfig } from '../config.ts';

/** One servable function: where its code is and how the runner treats it. */
export interface FunctionSpec {
  name: string;
  /** `supabase/functions/<name>` */
  dir: string;
  entrypoint: string;
  /** A `deno.json`/`deno.jsonc` passed as `--config` (its `imports` are the import map). */
  configPath?: string;
  /** A plain import map file passed as `--import-map`. */
  importMapPath?: string;
  verifyJwt: boolean;
  /**
   * Directories the function may read besides its own code: the fixed part (before any glob character) of each
   * `static_files` entry, relative to `supabase/` as the CLI resolves them (e.g. a model directory).
   */
  staticDirs: string[];
}

/** Function names as the CLI accepts them (`supabase functions new`): letters, digits, `-`, `_`; not `_`-prefixed. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;

/** `<projectDir>/supabase/functions` */
export function functionsRoot(projectDir: string): string {
  return join(projectDir, 'supabase', 'functions');
}

/**
 * Resolves `/<name>` to a function the way `supabase functions serve` does: a folder under `supabase/functions`
 * (names starting with `_` are shared code, never served), `[functions.<name>]` from config.toml (`enabled`,
 * `verify_jwt` default true, `entrypoint` and `import_map` relative to `supabase/`), and the import map defaulting
 * to the folder's `deno.json`, `deno.jsonc`, then the legacy `supabase/functions/import_map.json`.
 * Returns `undefined` when there is no such enabled function.
 */
export function resolveFunction(
  projectDir: string,
  name: string,
  functionsConfig: ProjectConfig['functions'],
): FunctionSpec | undefined {
  if (!NAME.test(name)) return undefined;
  const supabaseDir = join(projectDir, 'supabase');
  const dir = join(functionsRoot(projectDir), name);
  const config = functionsConfig[name];
  if (config?.enabled === false) return undefined;
  if (!isDirectory(dir)) return undefined;
  const entrypoint = config?.entrypoint ? resolve(supabaseDir, config.entrypoint) : join(dir, 'index.ts');
  if (!existsSync(entrypoint)) return undefined;

  const staticDirs = (config?.static_files ?? []).map((pattern) => resolve(supabaseDir, pattern.split(/[*?[{]/)[0] || '.'));
  const spec: FunctionSpec = { name, dir, entrypoint, verifyJwt: config?.verify_jwt ?? true, staticDirs };
  const importMap = config?.import_map
    ? resolve(supabaseDir, config.import_map)
    : [join(dir, 'deno.json'), join(dir, 'deno.jsonc'), join(functionsRoot(projectDir), 'import_map.json')].find((p) =>
        existsSync(p),
      );
  if (importMap && /deno\.jsonc?$/.test(importMap)) spec.configPath = importMap;
  else if (importMap) spec.importMapPath = importMap;
  return spec;
}

/** Names of every servable function folder, sorted (used by `npm run check` and start-up logs). */
export function listFunctions(projectDir: string, functionsConfig: ProjectConfig['functions']): string[] {
  const root = functionsRoot(projectDir);
  if (!isDirectory(root)) return [];
  return readdirSync(root)
    .filter((name) => resolveFunction(projectDir, name, functionsConfig) !== undefined)
    .sort();
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
