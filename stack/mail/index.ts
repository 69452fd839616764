import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import { createMailApp } from './api.ts';
import { Mailbox } from './mailbox.ts';

export { Mailbox, type StoredMail } from './mailbox.ts';
export type { MailSink, OutgoingMail } from './types.ts';

/** The default mailbox port, `[local_smtp] port` in the CLI's config (Mailpit's web UI). */
export const DEFAULT_MAIL_PORT = 54324;

/** A running mailbox: where it listens, its messages, and how to stop it. */
export interface MailServer {
  /** e.g. `http://127.0.0.1:54324`. */
  url: string;
  mailbox: Mailbox;
  close(): Promise<void>;
}

/**
 * Starts the mailbox web server (a page listing captured mail and Mailpit's `/api/v1` paths) on its own port,
 * like `supabase start`'s Mailpit. Port 0 picks a free one.
 */
export async function startMailServer(options: { host: string; port: number; dataDir: string | undefined }): Promise<MailServer> {
  const mailbox = await Mailbox.open(options.dataDir);
  const app = createMailApp(mailbox);
  const server = createAdaptorServer({ fetch: app.fetch, hostname: options.host });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
  return {
    url: `http://${options.host}:${port}`,
    mailbox,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
