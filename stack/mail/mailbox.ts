import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MailSink, OutgoingMail } from './types.ts';

/** A captured mail, as the mailbox keeps it. */
export interface StoredMail extends OutgoingMail {
  id: string;
  /** `Message-ID` header value. */
  messageId: string;
  /** When it was captured (ISO 8601). */
  created: string;
  read: boolean;
}

/** How many mails the mailbox keeps; the oldest go first. */
export const MAILBOX_LIMIT = 1000;

/**
 * The stack's outgoing-mail catcher, like `supabase start`'s Mailpit: every mail Auth sends lands here instead of
 * anyone's inbox. Kept in memory and, when the stack has a data directory, in `<dataDir>/mail/messages.json`, so the
 * messages survive a restart.
 */
export class Mailbox implements MailSink {
  private messages: StoredMail[] = [];
  private writing: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly file: string | undefined) {}

  /** Opens the mailbox, reading what an earlier run of the stack left in `dataDir`. */
  static async open(dataDir: string | undefined): Promise<Mailbox> {
    const file = dataDir ? join(dataDir, 'mail', 'messages.json') : undefined;
    const box = new Mailbox(file);
    if (file) {
      try {
        const saved = JSON.parse(await readFile(file, 'utf8')) as StoredMail[];
        if (Array.isArray(saved)) box.messages = saved.slice(-MAILBOX_LIMIT);
      } catch {
        // Missing or unreadable: start empty.
      }
    }
    return box;
  }

  async deliver(mail: OutgoingMail): Promise<void> {
    const id = crypto.randomUUID();
    this.messages.push({ ...mail, id, messageId: `${id}@edgebrain.local`, created: new Date().toISOString(), read: false });
    if (this.messages.length > MAILBOX_LIMIT) this.messages.splice(0, this.messages.length - MAILBOX_LIMIT);
    for (const wake of this.waiters) wake();
    await this.persist();
  }

  /** Every message, newest first. */
  list(): StoredMail[] {
    return [...this.messages].reverse();
  }

  /** One message by id (and marks it read, as opening it in Mailpit does). */
  get(id: string): StoredMail | undefined {
    const message = this.messages.find((m) => m.id === id);
    if (message && !message.read) {
      message.read = true;
      void this.persist();
    }
    return message;
  }

  /** Deletes the given messages, or all of them when `ids` is empty. Returns how many went. */
  async delete(ids: string[] = []): Promise<number> {
    const before = this.messages.length;
    this.messages = ids.length === 0 ? [] : this.messages.filter((m) => !ids.includes(m.id));
    await this.persist();
    return before - this.messages.length;
  }

  /** The newest message to `address` (case-insensitive), if any. */
  latestTo(address: string): StoredMail | undefined {
    const wanted = address.toLowerCase();
    return this.list().find((m) => m.to.some((to) => to.toLowerCase() === wanted));
  }

  /**
   * Waits until a message to `address` matching `filter` arrives (or is there already) and returns it. For tests and
   * tools; rejects after `timeoutMs`.
   */
  waitFor(address: string, filter: (mail: StoredMail) => boolean = () => true, timeoutMs = 10_000): Promise<StoredMail> {
    const wanted = address.toLowerCase();
    const find = () => this.list().find((m) => m.to.some((to) => to.toLowerCase() === wanted) && filter(m));
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no mail to ${address} within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
      check();
    });
  }

  private persist(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    // Writes are chained so that the file always ends with the latest state; each is atomic (temp file + rename).
    this.writing = this.writing
      .catch(() => {})
      .then(async () => {
        await mkdir(join(file, '..'), { recursive: true });
        const temp = `${file}.tmp`;
        await writeFile(temp, JSON.stringify(this.messages));
        await rename(temp, file);
      });
    return this.writing;
  }
}
