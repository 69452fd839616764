import type { Db } from '../db/pool.ts';
import type { JwtKeys } from '../jwt.ts';
import type { MailSink } from '../mail/types.ts';
import type { MailerSettings } from './mailer.ts';
import type { AuthLimiters } from './rate-limit.ts';
import type { AuthSettings } from './settings.ts';

/** What the Auth API's handlers are built from; injected, never imported from globals. */
export interface AuthDeps {
  db: Db;
  jwt: JwtKeys;
  settings: AuthSettings;
  /** Where auth mail goes (the stack's mailbox). */
  mail: MailSink;
  /** Sender and templates of auth mail. */
  mailer: MailerSettings;
  /** `[auth.rate_limit]`'s buckets; they live as long as the service. */
  limiters: AuthLimiters;
  log: (line: string) => void;
}
