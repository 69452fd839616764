#!/usr/bin/env node
/**
 * `npm run check` (after `tsc`): type-checks every function with `deno check`, each against its own import map,
 * resolving `npm:` packages from node_modules exactly as the runner does. Exits non-zero if any function fails.
 * Usage: tsx stack/functions/check.ts [projectDir]
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { loadProjectConfig } from '../config.ts';
import { denoBinary, denoDir, NODE_MODULES_FLAG } from './deno.ts';
import { listFunctions, resolveFunction } from './discover.ts';

const projectDir = resolve(process.argv[2] ?? process.cwd());
const config = await loadProjectConfig(projectDir);
const names = listFunctions(projectDir, config.functions);
let failed = 0;
for (const name of names) {
  const spec = resolveFunction(projectDir, name, config.functions)!;
  const importMap = spec.configPath ? [`--config=${spec.configPath}`] : spec.importMapPath ? [`--import-map=${spec.importMapPath}`] : [];
  const result = spawnSync(denoBinary(), ['check', '--quiet', '--no-lock', NODE_MODULES_FLAG, ...importMap, spec.entrypoint], {
    stdio: 'inherit',
    env: { ...process.env, DENO_DIR: denoDir(), DENO_NO_UPDATE_CHECK: '1' },
  });
  if (result.status !== 0) failed += 1;
  console.error(`deno check ${name}: ${result.status === 0 ? 'ok' : 'FAILED'}`);
}
if (names.length === 0) console.error('deno check: no functions found');
process.exit(failed > 0 ? 1 : 0);
