import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';
import type { MailSink } from '../mail/types.ts';
import { createAuthApp } from './app.ts';
import { loadMailerSettings } from './mailer.ts';
import { prepareDummyHash } from './passwords.ts';
import { ensureFlowStateTable } from './pkce.ts';
import { createLimiters } from './rate-limit.ts';
import { authSettings } from './settings.ts';

/** Mail goes nowhere when the mailbox is off (`[local_smtp] enabled = false`), as GoTrue's no-op mailer without SMTP. */
function dropMail(log: (line: string) => void): MailSink {
  return {
    async deliver(mail) {
      log(`auth: mail to ${mail.to.join(', ')} ("${mail.subject}") dropped: the mailbox is disabled`);
    },
  };
}

/**
 * The lite stack's Auth API (GoTrue imitation, contract §2): sign-up, password, refresh-token and PKCE grants, the
 * user endpoints, logout, the e-mail flows (confirmation, recovery, magic link and code, e-mail change,
 * reauthentication, invitation, `/verify`), the admin API, JWKS, settings and health, over `auth.*` in the stack's
 * database. Mail goes to `mail` (the stack's mailbox).
 */
export async function createAuthService(ctx: StackContext, mail?: MailSink): Promise<Service | undefined> {
  const settings = authSettings(ctx);
  const mailer = await loadMailerSettings(ctx.config, ctx.projectDir);
  await ensureFlowStateTable(ctx.db);
  await prepareDummyHash();
  const app = createAuthApp({
    db: ctx.db,
    jwt: ctx.jwt,
    settings,
    mail: mail ?? dropMail(ctx.log),
    mailer,
    limiters: createLimiters(settings.rateLimits),
    log: ctx.log,
  });
  return { fetch: (request) => app.fetch(request) };
}
