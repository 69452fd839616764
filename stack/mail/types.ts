/** One mail the stack sends: what Auth hands to the mailbox (or, on a real deployment, to SMTP). */
export interface OutgoingMail {
  from: { name: string; address: string };
  to: string[];
  subject: string;
  html: string;
  /** A plain-text rendering of the body. */
  text: string;
  /** Extra headers, e.g. GoTrue's `X-Supabase-Auth-Type`-style markers; shown by the mailbox. */
  headers?: Record<string, string>;
}

/** Where mail goes. The lite stack's mailbox is one; tests may pass their own. */
export interface MailSink {
  deliver(mail: OutgoingMail): Promise<void>;
}
