import type { Db } from '../db/pool.ts';
import type { JwtKeys } from '../jwt.ts';
import type { AuthSettings } from './settings.ts';

/** What the Auth API's handlers are built from; injected, never imported from globals. */
export interface AuthDeps {
  db: Db;
  jwt: JwtKeys;
  settings: AuthSettings;
  log: (line: string) => void;
}
