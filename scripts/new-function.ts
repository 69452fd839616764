/**
 * `npm run new:function -- <name>`: scaffolds a new edge function on the function kit — a migration (a per-user
 * table under RLS), its pgTAP file, the function (`index.ts`, `app.ts`, `deno.json`), its `config.toml` section,
 * an in-process test and an end-to-end test — then regenerates `database.types.ts` and adds the table to the
 * schema-hygiene test's list. Everything it writes passes `npm test` as generated; a failure undoes every change.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from '../stack/db/types.ts';
import { createStack } from '../stack/index.ts';
import { appTest, appTs, configSection, e2eTest, indexTs, migration, type Names, namesFor, pgtap } from './new-function/templates.ts';

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const HYGIENE = join('supabase', 'tests', 'database', '09-schema-hygiene.test.sql');
const USAGE = `usage: npm run new:function -- <name> [--project <dir>]

Creates supabase/functions/<name>/ on the function kit with a migration, a pgTAP file, a [functions.<name>]
section in supabase/config.toml and tests, then regenerates database.types.ts. <name> is kebab-case.`;

/** Thrown for a name or project that cannot take the new function; the message says why. */
export class ScaffoldError extends Error {}

/** A migration version after every existing one: now (UTC, YYYYMMDDHHMMSS), or the latest plus one. */
function nextVersion(existing: string[]): string {
  const now = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const latest = existing.map((f) => f.slice(0, 14)).filter((v) => /^\d{14}$/.test(v)).sort().at(-1);
  return latest && latest >= now ? String(BigInt(latest) + 1n) : now;
}

/** `deno.json`: the kit's bare imports as `npm:` specifiers at package.json's ranges. */
async function denoJson(projectDir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(projectDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const range = (name: string) => {
    const value = pkg.dependencies[name];
    if (!value) throw new ScaffoldError(`package.json has no dependency ${name}`);
    return value;
  };
  const imports = {
    '@hono/zod-openapi': `npm:@hono/zod-openapi@${range('@hono/zod-openapi')}`,
    '@supabase/supabase-js': `npm:@supabase/supabase-js@${range('@supabase/supabase-js')}`,
    hono: `npm:hono@${range('hono')}`,
    'hono/': `npm:/hono@${range('hono')}/`,
    jose: `npm:jose@${range('jose')}`,
    zod: `npm:zod@${range('zod')}`,
  };
  return `${JSON.stringify({ imports }, null, 2)}\n`;
}

/** Adds the table to the schema-hygiene test's exact list of public tables. */
function withTableListed(hygiene: string, table: string): string {
  const re = /(select tables_are\('public',\s*array\[)([^\]]*)(\])/;
  if (!re.test(hygiene)) throw new ScaffoldError(`${HYGIENE}: the tables_are('public', array[…]) list was not found`);
  return hygiene.replace(re, (_, head: string, list: string, tail: string) => `${head}${list}, '${table}'${tail}`);
}

async function checkFree(projectDir: string, n: Names): Promise<void> {
  if (!NAME.test(n.fn) || n.fn.length > 40) {
    throw new ScaffoldError(`"${n.fn}" is not a function name: kebab-case, starting with a letter, at most 40 characters.`);
  }
  if (existsSync(join(projectDir, 'supabase', 'functions', n.fn))) throw new ScaffoldError(`supabase/functions/${n.fn} already exists.`);
  const config = await readFile(join(projectDir, 'supabase', 'config.toml'), 'utf8');
  if (config.includes(`[functions.${n.fn}]`)) throw new ScaffoldError(`supabase/config.toml already has [functions.${n.fn}].`);
  const migrationsDir = join(projectDir, 'supabase', 'migrations');
  for (const file of await readdir(migrationsDir)) {
    if ((await readFile(join(migrationsDir, file), 'utf8')).includes(`create table public.${n.table} `)) {
      throw new ScaffoldError(`Table public.${n.table} already exists (${file}).`);
    }
  }
}

/** Writes the new function's files into `projectDir`; returns the paths created and changed. */
export async function scaffold(projectDir: string, name: string, log: (line: string) => void = () => {}): Promise<{ created: string[]; changed: string[] }> {
  const n = namesFor(name);
  await checkFree(projectDir, n);
  const migrationsDir = join(projectDir, 'supabase', 'migrations');
  const pgtapDir = join(projectDir, 'supabase', 'tests', 'database');
  const pgtapNumber = Math.max(0, ...(await readdir(pgtapDir)).map((f) => Number(/^(\d+)-/.exec(f)?.[1] ?? 0))) + 1;

  const files: Record<string, string> = {
    [join('supabase', 'migrations', `${nextVersion(await readdir(migrationsDir))}_create_${n.table}.sql`)]: migration(n),
    [join('supabase', 'tests', 'database', `${String(pgtapNumber).padStart(2, '0')}-${n.fn}.test.sql`)]: pgtap(n),
    [join('supabase', 'functions', n.fn, 'index.ts')]: indexTs(),
    [join('supabase', 'functions', n.fn, 'app.ts')]: appTs(n),
    [join('supabase', 'functions', n.fn, 'deno.json')]: await denoJson(projectDir),
    [join('tests', 'functions', n.fn, 'app.test.ts')]: appTest(n),
    [join('tests', 'functions', `${n.fn}.test.ts`)]: e2eTest(n),
  };
  const changes: Record<string, (text: string) => string> = {
    [join('supabase', 'config.toml')]: (text) => `${text.trimEnd()}\n${configSection(n)}`,
    [HYGIENE]: (text) => withTableListed(text, n.table),
  };

  const created: string[] = [];
  const originals = new Map<string, string>();
  try {
    for (const [path, text] of Object.entries(files)) {
      const full = join(projectDir, path);
      await mkdir(dirname(full), { recursive: true });
      await writeFile(full, text, { flag: 'wx' });
      created.push(path);
    }
    for (const [path, change] of Object.entries(changes)) {
      const full = join(projectDir, path);
      const text = await readFile(full, 'utf8');
      originals.set(path, text);
      await writeFile(full, change(text));
    }
    // The new table changes the schema the functions are typed with.
    log('Regenerating database.types.ts from the migrations…');
    const stack = await createStack({ projectDir, ephemeral: true, apiPort: 0, dbPort: 0, seed: false, scheduler: false });
    try {
      const types = await generateDatabaseTypes(projectDir, stack.dbUrl);
      const typesPath = join(projectDir, DATABASE_TYPES_PATH);
      originals.set(DATABASE_TYPES_PATH, await readFile(typesPath, 'utf8'));
      await writeFile(typesPath, types);
    } finally {
      await stack.stop();
    }
  } catch (error) {
    for (const path of created) await rm(join(projectDir, path), { force: true });
    await rm(join(projectDir, 'supabase', 'functions', n.fn), { recursive: true, force: true });
    await rm(join(projectDir, 'tests', 'functions', n.fn), { recursive: true, force: true });
    for (const [path, text] of originals) await writeFile(join(projectDir, path), text);
    throw error;
  }
  return { created, changed: [...originals.keys()] };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { project: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help || positionals.length !== 1) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const projectDir = resolve(values.project ?? process.cwd());
  const { created, changed } = await scaffold(projectDir, positionals[0], (line) => console.error(line));
  const name = positionals[0];
  console.log(
    [
      `Created:`,
      ...created.map((p) => `  ${p}`),
      `Changed:`,
      ...changed.map((p) => `  ${p}`),
      '',
      `Next: npx vitest run tests/functions/${name} tests/functions/${name}.test.ts tests/database, then shape the`,
      `table (a new migration once this one has landed) and the routes to your feature. Deploy: npx supabase db push`,
      `--remote && npx supabase functions deploy ${name} --use-api.`,
    ].join('\n'),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error instanceof ScaffoldError ? error.message : error);
    process.exit(error instanceof ScaffoldError ? 2 : 1);
  });
}
