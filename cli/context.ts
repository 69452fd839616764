import { createClient, type SupabaseClient, type User } from '@supabase/supabase-js';
import type { Database } from '../supabase/functions/_shared/database.types.ts';
import { CliError, NetworkWatch } from './errors.ts';
import type { Profile } from './profile.ts';

/** supabase-js builds its Realtime client eagerly and, on Node 20 (no global WebSocket), needs a transport; the CLI never opens a channel. */
class NoWebSocket {
  constructor() {
    throw new Error('the CLI does not use Realtime');
  }
}
const transport = ((globalThis as { WebSocket?: unknown }).WebSocket ?? NoWebSocket) as never;

/** What every command gets: the profile, clients for it, and output that honours `--json`. */
export interface CliContext {
  profile: Profile;
  /** Secret key: the Auth admin API, and the Data API / Storage as the service role (bypasses RLS). */
  admin: SupabaseClient<Database>;
  /** Publishable key: what a browser app uses (sign-in). */
  anon: SupabaseClient<Database>;
  net: NetworkWatch;
  json: boolean;
  /** Prints the result: JSON with `--json`, otherwise `text()` (a table or a sentence). */
  print(value: unknown, text: () => string): void;
  /** A progress line on stderr (never in `--json` output). */
  progress(line: string): void;
}

function client(profile: Profile, key: string, net: NetworkWatch): SupabaseClient<Database> {
  return createClient<Database>(profile.supabaseUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport },
    global: { fetch: net.fetch },
  });
}

/** Builds the clients for a profile. */
export function createContext(profile: Profile, json: boolean): CliContext {
  const net = new NetworkWatch(profile.supabaseUrl);
  return {
    profile,
    admin: client(profile, profile.secretKey, net),
    anon: client(profile, profile.publishableKey, net),
    net,
    json,
    print(value, text) {
      console.log(json ? JSON.stringify(value, null, 2) : text());
    },
    progress(line) {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

interface ErrorLike {
  code?: string;
  message: string;
  status?: number;
  statusCode?: string;
}

/** A supabase-js Data API / Storage result's data, or the CliError for its failure (codes, never message text). */
export function unwrap<R extends { data: unknown; error: ErrorLike | null }>(
  ctx: CliContext,
  result: R,
  what: string,
): Extract<R, { error: null }>['data'] {
  if (!result.error) return result.data as Extract<R, { error: null }>['data'];
  const { error } = result;
  const status = error.status ?? (error.statusCode ? Number(error.statusCode) : undefined);
  throw ctx.net.explain(new CliError('unexpected', `${what} failed: ${error.message}${error.code ? ` (${error.code})` : ''}`), status);
}

/** Formats rows as an aligned text table. */
export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Every user, a page at a time through the Auth admin API. */
export async function allUsers(ctx: CliContext): Promise<User[]> {
  const users: User[] = [];
  for (let page = 1; ; page += 1) {
    const { data, error } = await ctx.admin.auth.admin.listUsers({ page, perPage: 1000 });
    if (error) throw ctx.net.explain(new CliError('unexpected', `Listing users failed: ${error.message}`), error.status);
    users.push(...data.users);
    if (data.users.length < 1000) return users;
    ctx.progress(`Read ${users.length} users…`);
  }
}

/** The user with this e-mail address or id, or a `not_found` CliError. */
export async function findUser(ctx: CliContext, emailOrId: string): Promise<User> {
  if (UUID.test(emailOrId)) {
    const { data, error } = await ctx.admin.auth.admin.getUserById(emailOrId);
    if (!error) return data.user;
    if (error.status !== 404) throw ctx.net.explain(new CliError('unexpected', `Reading the user failed: ${error.message}`), error.status);
  } else {
    const email = emailOrId.toLowerCase();
    const user = (await allUsers(ctx)).find((u) => u.email?.toLowerCase() === email);
    if (user) return user;
  }
  throw new CliError('not_found', `No user ${emailOrId}.`);
}

/** Checks that a string is a UUID, for ids given on the command line. */
export function uuidArgument(value: string, name: string): string {
  if (!UUID.test(value)) throw new CliError('invalid_input', `${name} must be a UUID, got "${value}".`);
  return value;
}
