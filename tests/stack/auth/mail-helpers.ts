import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import type { Stack } from '../../../stack/index.ts';

/** The auth e-mail test project (confirmations, double-confirmed e-mail changes, reauthentication, a custom template). */
export const EMAIL_PROJECT = new URL('../../fixtures/auth-project/email', import.meta.url).pathname;

/** The auth rate-limit test project (tiny `[auth.rate_limit]`, SMTP configured, `max_frequency = "1h"`). */
export const LIMITS_PROJECT = new URL('../../fixtures/auth-project/limits', import.meta.url).pathname;

/** A message as Mailpit's `GET /api/v1/message/{id}` returns it (the fields the tests read). */
export interface MailpitMessage {
  ID: string;
  From: { Name: string; Address: string };
  To: Array<{ Name: string; Address: string }>;
  Subject: string;
  Text: string;
  HTML: string;
}

/** Reads the stack's mailbox over its HTTP API, as a tool would. */
async function mailApi<T>(stack: Stack, path: string): Promise<T> {
  const res = await fetch(`${stack.mailUrl}${path}`);
  if (!res.ok) throw new Error(`mailbox ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}

/** Every message to `address`, newest first, read through Mailpit's search and message endpoints. */
export async function mailsTo(stack: Stack, address: string): Promise<MailpitMessage[]> {
  const found = await mailApi<{ messages: Array<{ ID: string }> }>(stack, `/api/v1/search?query=${encodeURIComponent(`to:${address}`)}`);
  return Promise.all(found.messages.map((m) => mailApi<MailpitMessage>(stack, `/api/v1/message/${m.ID}`)));
}

/** The newest message to `address`; fails when there is none. */
export async function lastMailTo(stack: Stack, address: string): Promise<MailpitMessage> {
  const [mail] = await mailsTo(stack, address);
  if (!mail) throw new Error(`no mail to ${address}`);
  return mail;
}

/** The first link of a mail's HTML body, decoded. */
export function linkIn(mail: MailpitMessage): string {
  const match = /href="([^"]+)"/.exec(mail.HTML);
  if (!match) throw new Error(`no link in mail "${mail.Subject}"`);
  return match[1].replaceAll('&amp;', '&');
}

/** The numeric code of a mail (the default templates print it in <strong>, the fixture's in <code>). */
export function codeIn(mail: MailpitMessage): string {
  const match = /<(?:strong|code)>(\d{6,10})<\/(?:strong|code)>/.exec(mail.HTML);
  if (!match) throw new Error(`no code in mail "${mail.Subject}"`);
  return match[1];
}

/** Follows a mail link without following the redirect; returns the 303's Location. */
export async function openLink(link: string): Promise<{ status: number; location: URL }> {
  const res = await fetch(link, { redirect: 'manual' });
  await res.arrayBuffer();
  return { status: res.status, location: new URL(res.headers.get('location') ?? 'about:blank') };
}

/** The parameters of a URL fragment. */
export function fragment(url: URL): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(url.hash.slice(1)));
}

/** In-memory storage, so a supabase-js client can keep its PKCE code verifier on Node. */
function memoryStorage(): { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void } {
  const items = new Map<string, string>();
  return {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
}

/** Realtime is never opened here; Node 20 has no WebSocket, so a transport that fails if used is enough. */
class NoWebSocket {
  constructor() {
    throw new Error('Realtime is not used by these tests');
  }
}

/** A supabase-js client using the PKCE flow (as @supabase/ssr does), with the publishable key. */
export function pkceClient(stack: Stack): SupabaseClient {
  return createClient(stack.apiUrl, stack.keys.publishable, {
    auth: { flowType: 'pkce', storage: memoryStorage(), autoRefreshToken: false, detectSessionInUrl: false, persistSession: true },
    realtime: { transport: ((globalThis as { WebSocket?: unknown }).WebSocket ?? NoWebSocket) as never },
  });
}
