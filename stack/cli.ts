#!/usr/bin/env node
/**
 * `npm run dev` — starts the lite stack in the foreground and prints what `supabase status -o env` prints.
 * `npm run db:reset` — deletes the local database and re-creates it from migrations and the seed.
 * `npm run db:migrate` — applies pending migrations and exits.
 * `npm run db:types` — regenerates `supabase/functions/_shared/database.types.ts` with the Supabase CLI.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from './db/types.ts';
import { createStack, type StackOptions } from './index.ts';

const USAGE = `usage: tsx stack/cli.ts [db reset|db migrate|db types|db url] [options]
  --ephemeral          keep everything in memory; nothing is written to disk
  --data-dir <dir>     persistent state directory (default .stack)
  --db-url <url>       use this Postgres instead of the embedded one (also DATABASE_URL)
  --port <n>           gateway port (default 54321)
  --db-port <n>        embedded Postgres port (default 54322)
  --signing <alg>      HS256 (default) or ES256 user-token signing
  --no-seed            do not run supabase/seed.sql on a fresh database`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    ephemeral: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'db-url': { type: 'string' },
    port: { type: 'string' },
    'db-port': { type: 'string' },
    signing: { type: 'string' },
    'no-seed': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`--${name} must be a port number, got "${value}"`);
    process.exit(2);
  }
  return n;
}

if (values.signing && values.signing !== 'HS256' && values.signing !== 'ES256') {
  console.error(`--signing must be HS256 or ES256, got "${values.signing}"`);
  process.exit(2);
}

const options: StackOptions = {
  ephemeral: values.ephemeral,
  dataDir: values['data-dir'],
  dbUrl: values['db-url'] ?? process.env.DATABASE_URL,
  apiPort: port(values.port, 'port'),
  dbPort: port(values['db-port'], 'db-port'),
  signing: values.signing as StackOptions['signing'],
  seed: !values['no-seed'],
  log: (line) => console.error(line),
};

const [command, sub] = positionals;

async function main(): Promise<void> {
  if (command === 'db' && sub === 'reset') {
    if (options.dbUrl) {
      console.error('db reset only manages the embedded database; reset an external one with `supabase db reset --db-url`.');
      process.exit(2);
    }
    const dataDir = resolve(options.dataDir ?? '.stack');
    await rm(join(dataDir, 'db'), { recursive: true, force: true });
    await rm(join(dataDir, 'storage'), { recursive: true, force: true });
    const stack = await createStack({ ...options, apiPort: 0, dbPort: 0, scheduler: false });
    await stack.stop();
    console.error('Database reset: migrations applied from scratch.');
    return;
  }
  if (command === 'db' && sub === 'migrate') {
    const stack = await createStack({ ...options, apiPort: 0, dbPort: 0, scheduler: false });
    await stack.stop();
    if (stack.migrations.applied.length === 0) console.error('No pending migrations.');
    return;
  }
  if (command === 'db' && sub === 'types') {
    // A throwaway database with every migration applied, so the types follow the files, not local data.
    const stack = await createStack({ ...options, ephemeral: true, dbUrl: undefined, apiPort: 0, dbPort: 0, seed: false, scheduler: false });
    try {
      await writeFile(DATABASE_TYPES_PATH, await generateDatabaseTypes(process.cwd(), stack.dbUrl));
    } finally {
      await stack.stop();
    }
    console.error(`Wrote ${DATABASE_TYPES_PATH}.`);
    return;
  }
  if (command === 'db' && sub === 'url') {
    console.log(options.dbUrl ?? `postgresql://postgres:postgres@127.0.0.1:${options.dbPort ?? 54322}/postgres`);
    return;
  }
  if (command !== undefined) {
    console.error(USAGE);
    process.exit(2);
  }

  // Only the long-running dev server watches function files; tests and db commands never do.
  const stack = await createStack({ ...options, functions: { watch: true } });
  for (const [key, value] of Object.entries(stack.env())) console.log(`${key}="${value}"`);
  console.error(`\nedgebrain lite stack running at ${stack.apiUrl} (Ctrl-C to stop). For development only.`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${signal}: stopping…`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
