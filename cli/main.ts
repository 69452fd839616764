/**
 * The admin CLI: `npm run cli -- <command>` (or `edgebrain <command>` once installed). It talks to a project only
 * through its HTTP APIs — the Auth admin API, the Data API and Storage, with the secret key — so it works the same
 * against the lite stack (the default) and a hosted project (a profile: `EDGEBRAIN_ENV=prod`).
 */
import { Command, CommanderError, Option } from 'commander';
import { type CliContext, createContext } from './context.ts';
import { listDocuments, listJobs, reprocess } from './documents.ts';
import { CliError } from './errors.ts';
import { PROFILES, loadProfile } from './profile.ts';
import { setPlan, usage } from './plans.ts';
import { createUser, deleteUser, listUsers, MIN_PASSWORD_LENGTH, token } from './users.ts';

interface GlobalOptions {
  json?: boolean;
  profile?: string;
}

function report(error: unknown, json: boolean): number {
  const cliError =
    error instanceof CliError ? error : new CliError('unexpected', error instanceof Error ? error.message : String(error));
  if (json) console.error(JSON.stringify({ error: { code: cliError.code, message: cliError.message } }));
  else console.error(`error: ${cliError.message}`);
  return cliError.exitCode;
}

/** Builds the program; `run` actions get a context for the selected profile and map failures to exit codes. */
export function buildProgram(): Command {
  const program = new Command(process.env.npm_lifecycle_event === 'cli' ? 'npm run cli --' : 'edgebrain');
  program
    .description('Administer an edgebrain project: users, plans, usage, documents. Default: the local lite stack.')
    .addOption(new Option('--profile <name>', 'profile to use (overrides EDGEBRAIN_ENV)').choices([...PROFILES]))
    .option('--json', 'print results (and errors, on stderr) as JSON')
    .showHelpAfterError()
    .exitOverride((error: CommanderError) => process.exit(error.exitCode === 0 ? 0 : 2))
    .addHelpText(
      'after',
      `
Profiles: EDGEBRAIN_ENV=dev|stage|prod (default dev) reads .env then .env.<profile>; the variables are
EDGEBRAIN_SUPABASE_URL, EDGEBRAIN_SECRET_KEY and EDGEBRAIN_PUBLISHABLE_KEY (dev defaults to the local stack).
Exit codes: 0 ok, 1 unexpected, 2 bad input (weak password, unknown plan, usage), 3 not found,
4 conflict (duplicate e-mail), 5 project unreachable or refusing the key/credentials, 6 incomplete profile.`,
    );

  const run =
    <A extends unknown[]>(action: (ctx: CliContext, ...args: A) => Promise<void>) =>
    async (...args: A) => {
      const globals = program.opts<GlobalOptions>();
      try {
        const profile = loadProfile(process.env, process.cwd(), globals.profile);
        const ctx = createContext(profile, globals.json ?? false);
        await ctx.net.ping(profile.publishableKey);
        await action(ctx, ...args);
      } catch (error) {
        process.exitCode = report(error, globals.json ?? false);
      }
    };

  program
    .command('create-user')
    .description('Create a confirmed user (name in user_metadata) who can sign in at once')
    .requiredOption('--name <name>', 'display name, stored as user_metadata.name')
    .requiredOption('--email <email>', 'e-mail address (unique)')
    .requiredOption('--password <password>', `password, at least ${MIN_PASSWORD_LENGTH} characters`)
    .action(run((ctx, options: { name: string; email: string; password: string }) => createUser(ctx, options)));

  program
    .command('list-users')
    .description('List users with name, plan and last sign-in')
    .action(run((ctx) => listUsers(ctx)));

  program
    .command('delete-user')
    .description("Delete a user, their files in Storage and (by cascade) their rows")
    .argument('<user>', 'e-mail address or user id')
    .option('--yes', 'really delete (without it, says what would be deleted)')
    .action(run((ctx, who: string, options: { yes?: boolean }) => deleteUser(ctx, who, options)));

  program
    .command('set-plan')
    .description('Put a user on a plan (free removes their subscription)')
    .argument('<user>', 'e-mail address or user id')
    .argument('<plan>', 'plan id from the plans table, e.g. free or pro')
    .action(run((ctx, who: string, plan: string) => setPlan(ctx, who, plan)));

  program
    .command('token')
    .description("Sign in with the password grant and print the user's access token")
    .requiredOption('--email <email>', 'e-mail address')
    .requiredOption('--password <password>', 'password')
    .action(run((ctx, options: { email: string; password: string }) => token(ctx, options)));

  program
    .command('usage')
    .description("Today's (UTC) chat requests against each user's plan limit")
    .argument('[user]', 'only this user (e-mail address or id)')
    .action(run((ctx, who: string | undefined) => usage(ctx, who)));

  program
    .command('documents')
    .description('List documents, newest first, with processing status and errors')
    .option('--user <user>', 'only this user (e-mail address or id)')
    .option('--status <status>', 'only queued, processing, ready or failed')
    .option('--limit <n>', 'at most this many (1–1000)', '50')
    .action(run((ctx, options: { user?: string; status?: string; limit?: string }) => listDocuments(ctx, options)));

  program
    .command('jobs')
    .description('Ingestion work: documents by status, and each one not ready with its progress, attempts and error')
    .option('--limit <n>', 'at most this many (1–1000)', '50')
    .action(run((ctx, options: { limit?: string }) => listJobs(ctx, options)));

  program
    .command('reprocess')
    .description('Process a ready or failed document again')
    .argument('<document-id>', 'the document id (see `documents`)')
    .option('--force', 'also when it is queued or processing')
    .action(run((ctx, id: string, options: { force?: boolean }) => reprocess(ctx, id, options)));

  return program;
}

await buildProgram().parseAsync(process.argv);
