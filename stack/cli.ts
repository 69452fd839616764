#!/usr/bin/env node
/**
 * `npm run dev` — starts the lite stack in the foreground and prints what `supabase status -o env` prints.
 * `npm run db:reset` — deletes the local database and re-creates it from migrations and the seed.
 * `npm run db:migrate` — applies pending migrations and exits.
 * `npm run db:types` — regenerates `supabase/functions/_shared/database.types.ts` with the Supabase CLI.
 * `npm run db:url` — prints the local database URL.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from './db/types.ts';
import { createStack, type Stack, type StackOptions } from './index.ts';
import { lockDataDir, StackLifecycleError } from './lifecycle.ts';

/** Every option, with the help line printed for it; each command accepts only the ones it lists. */
const OPTION_HELP = {
  ephemeral: '--ephemeral          keep everything in memory; nothing is written to disk',
  'data-dir': '--data-dir <dir>     persistent state directory (default .stack)',
  'db-url': '--db-url <url>       use this Postgres instead of the embedded one (also DATABASE_URL)',
  port: '--port <n>           API gateway port (default 54321; 0 picks a free one)',
  'db-port': '--db-port <n>        embedded Postgres port (default 54322; 0 picks a free one)',
  'mail-port': '--mail-port <n>      mailbox port (default [local_smtp] port, 54324; 0 picks a free one)',
  'web-port': '--web-port <n>       browser app and API docs port (default 3000; 0 picks a free one)',
  'no-web': '--no-web             do not serve the browser app',
  signing: '--signing <alg>      HS256 (default) or ES256 user-token signing',
  'no-seed': '--no-seed            do not run supabase/seed.sql on a fresh database',
  help: '--help, -h           print this help',
} as const;
type OptionName = keyof typeof OPTION_HELP;

/** Commands by their positional words, with the npm script that runs each and the options it takes. */
const COMMANDS: Record<string, { script: string; summary: string; options: OptionName[] }> = {
  '': {
    script: 'dev',
    summary: 'Start the lite stack in the foreground (Ctrl-C, SIGTERM or SIGHUP stop it).',
    options: ['ephemeral', 'data-dir', 'db-url', 'port', 'db-port', 'mail-port', 'web-port', 'no-web', 'signing', 'no-seed', 'help'],
  },
  'db reset': {
    script: 'db:reset',
    summary: 'Delete the local database and storage, re-apply every migration and the seed.',
    options: ['data-dir', 'no-seed', 'help'],
  },
  'db migrate': {
    script: 'db:migrate',
    summary: 'Apply pending migrations to the local (or --db-url) database and exit.',
    options: ['data-dir', 'db-url', 'no-seed', 'help'],
  },
  'db types': {
    script: 'db:types',
    summary: `Regenerate ${DATABASE_TYPES_PATH} from the migrations with the Supabase CLI.`,
    options: ['help'],
  },
  'db url': { script: 'db:url', summary: 'Print the local database URL.', options: ['db-url', 'db-port', 'help'] },
};

/** The help text of one command, named as the user ran it (`npm run dev -- [options]`). */
export function usage(command: string): string {
  const spec = COMMANDS[command];
  const program =
    process.env.npm_lifecycle_event === spec.script
      ? `npm run ${spec.script} --`
      : `tsx stack/cli.ts${command ? ` ${command}` : ''}`;
  return [`usage: ${program} [options]`, '', spec.summary, '', 'options:', ...spec.options.map((o) => `  ${OPTION_HELP[o]}`)].join('\n');
}

function fail(message: string, code = 2): never {
  console.error(message);
  process.exit(code);
}

function parse() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        ephemeral: { type: 'boolean', default: false },
        'data-dir': { type: 'string' },
        'db-url': { type: 'string' },
        port: { type: 'string' },
        'db-port': { type: 'string' },
        'mail-port': { type: 'string' },
        'web-port': { type: 'string' },
        'no-web': { type: 'boolean', default: false },
        signing: { type: 'string' },
        'no-seed': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${usage('')}`);
  }
  const command = parsed.positionals.join(' ');
  if (!(command in COMMANDS)) fail(`unknown command "${command}"\n\n${usage('')}`);
  for (const [name, value] of Object.entries(parsed.values)) {
    const given = value !== undefined && value !== false;
    if (given && !COMMANDS[command].options.includes(name as OptionName)) {
      fail(`--${name} does not apply here\n\n${usage(command)}`);
    }
  }
  return { command, values: parsed.values };
}

function port(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`--${name} must be a port number, got "${value}"`);
  return n;
}

const { command, values } = parse();
if (values.help) {
  console.log(usage(command));
  process.exit(0);
}
if (values.signing && values.signing !== 'HS256' && values.signing !== 'ES256') {
  fail(`--signing must be HS256 or ES256, got "${values.signing}"`);
}

const options: StackOptions = {
  ephemeral: values.ephemeral,
  dataDir: values['data-dir'],
  dbUrl: values['db-url'] ?? process.env.DATABASE_URL,
  apiPort: port(values.port, 'port'),
  dbPort: port(values['db-port'], 'db-port'),
  mailPort: port(values['mail-port'], 'mail-port'),
  signing: values.signing as StackOptions['signing'],
  seed: !values['no-seed'],
  log: (line) => console.error(line),
};

/**
 * Stops the stack on Ctrl-C, SIGTERM (what `kill`, systemd and npm forward) and SIGHUP (a closed terminal), and
 * when the parent process disappears (e.g. `npm` killed with a signal it does not forward): the stack must never
 * outlive the command that started it, holding its ports and data directory.
 */
function stopOnSignals(starting: Promise<Stack>): void {
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`\n${reason}: stopping…`);
    // A stop that hangs must not keep the ports: leave anyway (child processes get SIGKILL from the runner).
    setTimeout(() => process.exit(1), 15_000).unref();
    // A signal during start-up waits for it to finish, then stops what it started.
    const stack = await starting.catch(() => undefined);
    await stack?.stop();
    process.exit(0);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(signal));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void shutdown('parent process exited');
  }, 500).unref();
}

async function main(): Promise<void> {
  if (command === 'db reset') {
    if (options.dbUrl) fail('db reset only manages the embedded database; reset an external one with `npx supabase db reset --remote=<url>`.');
    const dataDir = resolve(options.dataDir ?? '.stack');
    // Refuses while a stack (or another command) holds the directory; deleting under it corrupts the database.
    const lock = await lockDataDir(dataDir, 'db reset');
    try {
      await rm(join(dataDir, 'db'), { recursive: true, force: true });
      await rm(join(dataDir, 'storage'), { recursive: true, force: true });
    } finally {
      await lock.release();
    }
    const stack = await createStack({ ...options, command: 'db reset', apiPort: 0, dbPort: 0, scheduler: false });
    await stack.stop();
    console.error('Database reset: migrations applied from scratch.');
    return;
  }
  if (command === 'db migrate') {
    const stack = await createStack({ ...options, command: 'db migrate', apiPort: 0, dbPort: 0, scheduler: false });
    await stack.stop();
    if (stack.migrations.applied.length === 0) console.error('No pending migrations.');
    return;
  }
  if (command === 'db types') {
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
  if (command === 'db url') {
    console.log(options.dbUrl ?? `postgresql://postgres:postgres@127.0.0.1:${options.dbPort ?? 54322}/postgres`);
    return;
  }

  // Only the long-running dev server watches function files; tests and db commands never do.
  const web = values['no-web'] ? undefined : { port: port(values['web-port'], 'web-port'), mode: 'dev' as const };
  const starting = createStack({ ...options, command: 'dev', functions: { watch: true }, web });
  stopOnSignals(starting);
  const stack = await starting;
  for (const [key, value] of Object.entries(stack.env())) console.log(`${key}="${value}"`);
  console.error(`\nedgebrain lite stack running at ${stack.apiUrl} (Ctrl-C to stop). For development only.`);
  if (stack.webUrl) console.error(`App: ${stack.webUrl}   API docs: ${stack.webUrl}/docs/`);
  if (stack.mailUrl) console.error(`Mailbox (auth mail is caught here, never sent): ${stack.mailUrl}`);
}

main().catch((error) => {
  if (error instanceof StackLifecycleError) fail(error.message, 1);
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
