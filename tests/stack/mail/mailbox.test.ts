import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { loadProjectConfig } from '../../../stack/config.ts';
import { Mailbox } from '../../../stack/mail/index.ts';
import { tempProject } from '../../helpers/project.ts';
import { anonClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { PASSWORD } from '../auth/helpers.ts';
import { EMAIL_PROJECT } from '../auth/mail-helpers.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function mail(to: string, subject: string) {
  return { from: { name: 'Admin', address: 'admin@email.com' }, to: [to], subject, html: `<p>${subject}</p>`, text: subject };
}

describe('the mailbox (Mailpit-compatible) of a running stack', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: EMAIL_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('listens on its own port, a free one when the stack runs on free ports (tests)', async () => {
    expect(stack.mailUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(stack.mailUrl).not.toBe('http://127.0.0.1:54324');
    expect(stack.mailUrl).not.toBe(stack.apiUrl);
    expect(await (await fetch(`${stack.mailUrl}/readyz`)).text()).toBe('ok');
  });

  it('lists, reads, searches and deletes captured auth mail with Mailpit API v1 shapes', async () => {
    await fetch(`${stack.mailUrl}/api/v1/messages`, { method: 'DELETE' });
    const email = uniqueEmail('mailpit');
    await anonClient(stack).auth.signUp({ email, password: PASSWORD });

    const list = await (await fetch(`${stack.mailUrl}/api/v1/messages`)).json();
    expect(list).toEqual({
      total: 1,
      unread: 1,
      count: 1,
      messages_count: 1,
      messages_unread: 1,
      start: 0,
      tags: [],
      messages: [
        {
          ID: expect.any(String),
          MessageID: expect.stringMatching(/@edgebrain\.local$/),
          Read: false,
          From: { Name: 'edgebrain tests', Address: 'auth@edgebrain.test' },
          To: [{ Name: '', Address: email }],
          Cc: [],
          Bcc: [],
          ReplyTo: [],
          Subject: 'Confirm your email address',
          Created: expect.stringMatching(ISO),
          Username: '',
          Tags: [],
          Size: expect.any(Number),
          Attachments: 0,
          Snippet: expect.stringContaining(`Open this link to confirm ${email}`),
        },
      ],
    });

    const id = list.messages[0].ID;
    const message = await (await fetch(`${stack.mailUrl}/api/v1/message/${id}`)).json();
    expect(message).toMatchObject({ ID: id, Subject: 'Confirm your email address', To: [{ Address: email }] });
    expect(message.HTML).toContain(`href="${stack.apiUrl}/auth/v1/verify?token=`);
    expect(message.Text).toContain(`(${stack.apiUrl}/auth/v1/verify?token=`);
    expect((await (await fetch(`${stack.mailUrl}/api/v1/message/latest`)).json()).ID).toBe(id);
    expect((await (await fetch(`${stack.mailUrl}/api/v1/messages`)).json()).unread).toBe(0);

    const hit = await (await fetch(`${stack.mailUrl}/api/v1/search?query=${encodeURIComponent(`to:${email}`)}`)).json();
    expect(hit.messages.map((m: { ID: string }) => m.ID)).toEqual([id]);
    const miss = await (await fetch(`${stack.mailUrl}/api/v1/search?query=to:nobody@example.com`)).json();
    expect(miss).toMatchObject({ total: 1, messages_count: 0, messages: [] });

    const missing = await fetch(`${stack.mailUrl}/api/v1/message/does-not-exist`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();

    const deleted = await fetch(`${stack.mailUrl}/api/v1/messages`, { method: 'DELETE' });
    expect([deleted.status, await deleted.text()]).toEqual([200, 'ok']);
    expect((await (await fetch(`${stack.mailUrl}/api/v1/messages`)).json()).messages).toEqual([]);
  });

  it('serves an HTML inbox and message view that load nothing from other hosts', async () => {
    const email = uniqueEmail('page');
    await anonClient(stack).auth.signUp({ email, password: PASSWORD });
    const inbox = await fetch(`${stack.mailUrl}/`);
    expect(inbox.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await inbox.text();
    expect(html).toContain(email);
    expect(html).not.toMatch(/(src|href)="https?:/);
    const id = /href="\/view\/([^"]+)"/.exec(html)![1];
    const view = await (await fetch(`${stack.mailUrl}/view/${id}`)).text();
    expect(view).toContain(`<iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="/view/${id}.html">`);
    const body = await fetch(`${stack.mailUrl}/view/${id}.html`);
    expect(body.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await body.text()).toContain('Confirm your sign-up');
  });
});

describe('Mailbox storage', () => {
  it('keeps messages across a reopen of the same data directory, newest first, and deletes by id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgebrain-mailbox-'));
    try {
      const box = await Mailbox.open(dir);
      await box.deliver(mail('a@example.com', 'first'));
      await box.deliver(mail('b@example.com', 'second'));
      const reopened = await Mailbox.open(dir);
      expect(reopened.list().map((m) => m.subject)).toEqual(['second', 'first']);
      expect(reopened.latestTo('A@example.com')?.subject).toBe('first');
      await reopened.delete([reopened.list()[0].id]);
      expect((await Mailbox.open(dir)).list().map((m) => m.subject)).toEqual(['first']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('resolves waitFor when a matching message arrives and rejects after the timeout', async () => {
    const box = await Mailbox.open(undefined);
    const waiting = box.waitFor('c@example.com', (m) => m.subject === 'wanted');
    await box.deliver(mail('c@example.com', 'other'));
    await box.deliver(mail('c@example.com', 'wanted'));
    expect((await waiting).subject).toBe('wanted');
    await expect(box.waitFor('d@example.com', () => true, 20)).rejects.toThrow('no mail to d@example.com within 20 ms');
  });
});

describe('mailbox settings in config.toml', () => {
  it('reads [local_smtp], and the [inbucket] section of older CLIs when it is the only one', async () => {
    const current = await tempProject({ 'supabase/config.toml': '[local_smtp]\nport = 55000\nsender_name = "Acme"\n' });
    const legacy = await tempProject({ 'supabase/config.toml': '[inbucket]\nenabled = false\nadmin_email = "old@example.com"\n' });
    try {
      expect((await loadProjectConfig(current.dir)).local_smtp).toEqual({ enabled: true, port: 55000, admin_email: 'admin@email.com', sender_name: 'Acme' });
      expect((await loadProjectConfig(legacy.dir)).local_smtp).toEqual({ enabled: false, port: 54324, admin_email: 'old@example.com', sender_name: 'Admin' });
    } finally {
      await current.remove();
      await legacy.remove();
    }
  });
});
