import { Hono } from 'hono';
import type { Mailbox, StoredMail } from './mailbox.ts';
import { listPage, messagePage } from './page.ts';

/** Mailpit's address object. */
interface Address {
  Name: string;
  Address: string;
}

function address(text: string, name = ''): Address {
  return { Name: name, Address: text };
}

function size(mail: StoredMail): number {
  return Buffer.byteLength(mail.subject) + Buffer.byteLength(mail.html) + Buffer.byteLength(mail.text);
}

/** The first 250 characters of the text, on one line (Mailpit's `Snippet`). */
export function snippet(mail: StoredMail): string {
  return mail.text.replace(/\s+/g, ' ').trim().slice(0, 250);
}

/** A message as Mailpit's `GET /api/v1/messages` lists it. */
export function summaryJson(mail: StoredMail): Record<string, unknown> {
  return {
    ID: mail.id,
    MessageID: mail.messageId,
    Read: mail.read,
    From: address(mail.from.address, mail.from.name),
    To: mail.to.map((to) => address(to)),
    Cc: [],
    Bcc: [],
    ReplyTo: [],
    Subject: mail.subject,
    Created: mail.created,
    Username: '',
    Tags: [],
    Size: size(mail),
    Attachments: 0,
    Snippet: snippet(mail),
  };
}

/** A message as Mailpit's `GET /api/v1/message/{id}` returns it, with its Text and HTML bodies. */
export function messageJson(mail: StoredMail): Record<string, unknown> {
  return {
    ID: mail.id,
    MessageID: mail.messageId,
    From: address(mail.from.address, mail.from.name),
    To: mail.to.map((to) => address(to)),
    Cc: [],
    Bcc: [],
    ReplyTo: [],
    ReturnPath: mail.from.address,
    Subject: mail.subject,
    ListUnsubscribe: { Header: '', Links: [], Errors: '', HeaderPost: '' },
    Date: mail.created,
    Tags: [],
    Username: '',
    Text: mail.text,
    HTML: mail.html,
    Size: size(mail),
    Inline: [],
    Attachments: [],
  };
}

function page(query: URLSearchParams, total: number): { start: number; limit: number } {
  const start = Math.max(0, Number.parseInt(query.get('start') ?? '0', 10) || 0);
  const limit = Math.min(Math.max(1, Number.parseInt(query.get('limit') ?? '50', 10) || 50), Math.max(total, 1));
  return { start, limit };
}

/**
 * Mailpit's search terms that tools use: `to:`, `from:`, `subject:` (each may be quoted) and free words, all
 * case-insensitive and all required.
 */
export function matchesSearch(mail: StoredMail, query: string): boolean {
  const terms = query.match(/(?:[a-z]+:)?(?:"[^"]*"|\S+)/gi) ?? [];
  return terms.every((term) => {
    const [, field, raw] = /^(?:([a-z]+):)?(.*)$/i.exec(term)!;
    const value = raw.replace(/^"|"$/g, '').toLowerCase();
    switch (field?.toLowerCase()) {
      case 'to':
        return mail.to.some((to) => to.toLowerCase().includes(value));
      case 'from':
        return mail.from.address.toLowerCase().includes(value);
      case 'subject':
        return mail.subject.toLowerCase().includes(value);
      default:
        return `${mail.subject}\n${mail.text}\n${mail.to.join(' ')}`.toLowerCase().includes(`${field ? `${field}:` : ''}${value}`);
    }
  });
}

function summary(messages: StoredMail[], all: StoredMail[], query: URLSearchParams): Record<string, unknown> {
  const { start, limit } = page(query, messages.length);
  return {
    total: all.length,
    unread: all.filter((m) => !m.read).length,
    count: Math.min(limit, Math.max(0, messages.length - start)),
    messages_count: messages.length,
    messages_unread: messages.filter((m) => !m.read).length,
    start,
    tags: [],
    messages: messages.slice(start, start + limit).map(summaryJson),
  };
}

function notFound(): Response {
  return new Response('Message not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/**
 * The mailbox's web UI and the part of Mailpit's API v1 that tools and tests use: list, search, read and delete.
 * `latest` as a message id means the newest message, as in Mailpit.
 */
export function createMailApp(mailbox: Mailbox): Hono {
  const app = new Hono();
  const find = (id: string) => (id === 'latest' ? mailbox.list()[0] : mailbox.get(id));

  app.get('/', () => new Response(listPage(mailbox.list()), { headers: { 'content-type': 'text/html; charset=utf-8' } }));
  app.get('/view/:file', (c) => {
    const id = c.req.param('file').replace(/\.html$/, '');
    const mail = find(id);
    if (!mail) return notFound();
    if (c.req.param('file').endsWith('.html')) {
      return new Response(mail.html, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          // The mail body is shown as it is; it may not run scripts or load anything.
          'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        },
      });
    }
    return new Response(messagePage(mail), { headers: { 'content-type': 'text/html; charset=utf-8' } });
  });
  app.get('/livez', () => new Response('ok'));
  app.get('/readyz', () => new Response('ok'));

  app.get('/api/v1/messages', (c) => {
    const all = mailbox.list();
    return c.json(summary(all, all, new URL(c.req.url).searchParams));
  });
  app.get('/api/v1/search', (c) => {
    const params = new URL(c.req.url).searchParams;
    const all = mailbox.list();
    const query = params.get('query') ?? '';
    return c.json(summary(all.filter((m) => matchesSearch(m, query)), all, params));
  });
  app.get('/api/v1/message/:id', (c) => {
    const mail = find(c.req.param('id'));
    return mail ? c.json(messageJson(mail)) : notFound();
  });
  app.delete('/api/v1/messages', async (c) => {
    let ids: string[] = [];
    const text = await c.req.text();
    if (text.trim()) {
      try {
        const body = JSON.parse(text) as { IDs?: unknown };
        if (Array.isArray(body.IDs)) ids = body.IDs.filter((id): id is string => typeof id === 'string');
      } catch {
        return new Response('invalid JSON body\n', { status: 400, headers: { 'content-type': 'text/plain; charset=utf-8' } });
      }
    }
    await mailbox.delete(ids);
    return new Response('ok', { headers: { 'content-type': 'text/plain; charset=utf-8' } });
  });
  app.notFound(() => new Response('404 page not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } }));
  return app;
}
