import type { ProjectConfig } from './config.ts';
import type { Db } from './db/pool.ts';
import type { ApiKeys } from './defaults.ts';
import type { FunctionsOptions } from './functions/index.ts';
import type { JwtKeys } from './jwt.ts';

/** What every service of the stack is built from; services never read env or globals themselves. */
export interface StackContext {
  /** Directory holding `supabase/` (config.toml, migrations, functions). */
  projectDir: string;
  /** Directory for persistent state (storage bytes, keys); `undefined` when ephemeral. */
  dataDir: string | undefined;
  /** Scratch directory that is always writable (a temp dir when ephemeral). */
  workDir: string;
  config: ProjectConfig;
  db: Db;
  /** Postgres URL as seen from this machine. */
  dbUrl: string;
  jwt: JwtKeys;
  keys: ApiKeys;
  /** Public base URL of the gateway, e.g. `http://127.0.0.1:54321`. */
  apiUrl: string;
  log: (line: string) => void;
  /** Edge Functions runner settings (limits, file watching). */
  functions?: FunctionsOptions;
}
