#!/usr/bin/env node
/**
 * Adds to package-lock.json the platform packages (other operating systems and CPUs) that npm leaves out when the
 * registry it resolves from does not have that exact version yet — as the registry mirror on our build machines
 * does for `deno` and `supabase`. `npm ci` refuses a lock file that lacks an optional dependency, even one it would
 * skip on this platform, so after any `npm install` run `npm run lock:complete`.
 *
 * Each added entry takes its `os`/`cpu`/`libc` from the nearest version of that package the registry has, so npm
 * skips it on other platforms exactly as it would with a complete entry; on its own platform, npm fetches it from
 * the public registry, which has it. Nothing is downloaded here.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;
const added = [];

function platformOf(name) {
  const out = execFileSync('npm', ['view', name, 'os', 'cpu', 'libc', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const parsed = JSON.parse(out || '{}');
  const latest = Array.isArray(parsed) ? parsed[parsed.length - 1] : parsed;
  return { os: latest.os, cpu: latest.cpu, libc: latest.libc };
}

for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (packages[key] || packages[`${path}/node_modules/${name}`]) continue;
    const platform = platformOf(name);
    if (!platform.os && !platform.cpu) continue; // not a platform package: leave it to npm
    packages[key] = {
      version,
      ...(platform.cpu ? { cpu: platform.cpu } : {}),
      ...(entry.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: platform.libc } : {}),
      license: entry.license,
      optional: true,
      ...(platform.os ? { os: platform.os } : {}),
    };
    added.push(`${name}@${version}`);
  }
}

lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : 1)));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(added.length ? `added ${added.length} platform entries: ${added.join(', ')}` : 'lock file already complete');
