import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient, signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { encryptedPdf, imageOnlyPdf, sentences, textPdf, wordDocument } from '../_shared/ingest/fixtures.ts';
import { uploadFile } from '../upload/helpers.ts';
import { chunksOf, settled } from './helpers.ts';

// The whole pipeline as it runs in production, on the lite stack: an upload queues a message (trigger), pg_net
// wakes the worker (Vault secrets), the worker parses, chunks and embeds in real Deno, and the document is ready.
// Nothing here calls the worker by hand.
let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  user = await signUpUser(stack, 'pipeline');
});
afterAll(async () => {
  await stack?.stop();
});

async function upload(name: string, content: string | Uint8Array, type = 'application/octet-stream'): Promise<string> {
  const response = await uploadFile(stack, user, name, content, { type });
  expect(response.status, `${name}: ${await response.clone().text()}`).toBe(202);
  return (await response.json()).id;
}

describe('every upload is processed on its own', () => {
  it('makes a text file ready with its chunks embedded by the dev embedder', async () => {
    const id = await upload('notes.txt', sentences(60, 'garden'));
    const state = await settled(stack, id);
    expect(state).toMatchObject({ status: 'ready', error_code: null, error: null, progress: null, embedder: 'hash-dev-v1', embedding_dimensions: 384 });
    const chunks = await chunksOf(stack, id);
    expect(chunks.length).toBe(state.chunk_count);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.map((c) => c.chunk_index)).toEqual(chunks.map((_, i) => i));
    expect(chunks.every((c) => c.embedded)).toBe(true);
  });

  it('keeps the heading path of markdown sections on their chunks', async () => {
    const id = await upload('guide.md', '# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n## Use\n\nUpload files.\n');
    expect((await settled(stack, id)).status).toBe('ready');
    const chunks = await chunksOf(stack, id);
    expect(chunks.map((c) => [c.metadata.headings, c.metadata.context])).toEqual([
      [['Guide'], 'Guide'],
      [['Guide', 'Install'], 'Guide > Install'],
      [['Guide', 'Use'], 'Guide > Use'],
    ]);
  });

  it('keeps the CSV header as context and the row range on every chunk', async () => {
    const rows = Array.from({ length: 300 }, (_, i) => `${i + 1},item ${i + 1},"a description, with a comma, of item ${i + 1}"`);
    const id = await upload('items.csv', `id,name,description\n${rows.join('\n')}\n`);
    expect((await settled(stack, id)).status).toBe('ready');
    const chunks = await chunksOf(stack, id);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.every((c) => c.metadata.context === 'id,name,description')).toBe(true);
    expect(chunks[0].metadata.rows).toMatchObject({ from: 1 });
    expect((chunks[chunks.length - 1].metadata.rows as { to: number }).to).toBe(300);
  });

  it('reads only the visible text of HTML', async () => {
    const id = await upload('page.html', '<html><head><title>T</title><style>p{}</style></head><body><h1>Hello</h1><script>alert(1)</script><p>Visible words.</p></body></html>');
    expect((await settled(stack, id)).status).toBe('ready');
    const text = (await chunksOf(stack, id)).map((c) => c.content).join(' ');
    expect(text).toContain('Visible words.');
    expect(text).not.toMatch(/alert|p\{\}/);
  });

  it('reads JSON', async () => {
    const id = await upload('data.json', JSON.stringify({ users: [{ name: 'Ada' }, { name: 'Grace' }] }));
    expect((await settled(stack, id)).status).toBe('ready');
    expect((await chunksOf(stack, id)).map((c) => c.content).join('')).toContain('"Grace"');
  });

  it('reads a PDF page by page, with page numbers for citations', async () => {
    const id = await upload('report.pdf', await textPdf([['First page about apples.'], null, ['Third page about pears.']]), 'application/pdf');
    const state = await settled(stack, id);
    expect(state).toMatchObject({ status: 'ready', page_count: 3 });
    expect((await chunksOf(stack, id)).map((c) => [c.metadata.page, c.content])).toEqual([
      [1, 'First page about apples.'],
      [3, 'Third page about pears.'],
    ]);
  });

  it('reads a DOCX with its headings', async () => {
    const id = await upload('guide.docx', await wordDocument());
    expect((await settled(stack, id)).status).toBe('ready');
    const chunks = await chunksOf(stack, id);
    expect(chunks.some((c) => (c.metadata.headings as string[]).join(' > ') === 'Guide > Install > Linux')).toBe(true);
  });
});

describe('files that cannot be processed end failed, with a code and a sentence for their owner', () => {
  it.each([
    ['a scanned PDF (no text)', 'no_text', 'scan.pdf', () => imageOnlyPdf(2)],
    ['a password-protected PDF', 'encrypted_file', 'locked.pdf', async () => encryptedPdf()],
    ['a damaged PDF', 'corrupt_file', 'broken.pdf', async () => new TextEncoder().encode('%PDF-1.7\nthis is not really a pdf\n%%EOF')],
    ['invalid JSON', 'corrupt_file', 'bad.json', async () => new TextEncoder().encode('{"unclosed": [')],
  ])('%s → %s', async (_case, code, name, bytes) => {
    const id = await upload(name, await bytes(), name.endsWith('.pdf') ? 'application/pdf' : 'application/json');
    const state = await settled(stack, id);
    expect(state).toMatchObject({ status: 'failed', error_code: code, attempts: 1 });
    expect(state.error).toMatch(/^[A-Z].*\.$/);
    expect(await chunksOf(stack, id)).toEqual([]);
  });

  it('refuses content that is not what its name says when it came through a signed upload URL', async () => {
    const path = `${user.id}/sneaky.pdf`;
    const { data: signed } = await user.client.storage.from('documents').createSignedUploadUrl(path);
    const { error } = await user.client.storage
      .from('documents')
      .uploadToSignedUrl(path, signed!.token, new Blob(['just some text'], { type: 'application/pdf' }), { contentType: 'application/pdf' });
    expect(error).toBeNull();
    const { data: row } = await user.client.from('documents').select('id').eq('storage_path', path).single();
    expect(await settled(stack, row!.id)).toMatchObject({ status: 'failed', error_code: 'file_content_mismatch' });
  });

  it("refuses a file over the plan's upload limit that came through a signed upload URL", async () => {
    await stack.db.query("update public.plans set max_upload_bytes = 1024 where id = 'free'");
    try {
      const path = `${user.id}/big.txt`;
      const { data: signed } = await user.client.storage.from('documents').createSignedUploadUrl(path);
      await user.client.storage.from('documents').uploadToSignedUrl(path, signed!.token, new Blob(['x'.repeat(4096)], { type: 'text/plain' }), { contentType: 'text/plain' });
      const { data: row } = await user.client.from('documents').select('id').eq('storage_path', path).single();
      expect(await settled(stack, row!.id)).toMatchObject({
        status: 'failed',
        error_code: 'file_too_large',
        error: 'This file is larger than your plan allows (1 KiB). Upgrade your plan or upload a smaller file.',
      });
    } finally {
      await stack.db.query("update public.plans set max_upload_bytes = 10485760 where id = 'free'");
    }
  });
});

describe('the worker function admits only the system', () => {
  const call = (headers: Record<string, string>) => fetch(`${stack.apiUrl}/functions/v1/worker`, { method: 'POST', headers });

  it('answers 401 without credentials, 401 for the publishable key, and 403 for a user', async () => {
    const none = await call({});
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: { code: 'missing_authorization', message: 'Authorization header is required.' } });
    const anon = await call({ apikey: stack.keys.publishable });
    expect(anon.status).toBe(401);
    expect(await anon.json()).toEqual({ error: { code: 'invalid_credentials', message: 'A secret or service_role key is required.' } });
    const signedIn = await call({ authorization: `Bearer ${user.token}` });
    expect(signedIn.status).toBe(403);
    expect(await signedIn.json()).toEqual({ error: { code: 'system_only', message: 'Only the system may call this endpoint.' } });
  });
});

describe('deleting a user', () => {
  it('removes their files from Storage as well as their rows, and leaves other users alone', async () => {
    const leaving = await signUpUser(stack, 'leaving');
    const staying = await signUpUser(stack, 'staying');
    for (const who of [leaving, staying]) {
      for (const name of ['a.txt', 'b.txt']) expect((await uploadFile(stack, who, name, `text of ${name}`)).status).toBe(202);
    }
    const { error } = await serviceClient(stack).auth.admin.deleteUser(leaving.id);
    expect(error).toBeNull();
    const objects = async (owner: string) =>
      (await stack.db.query("select name from storage.objects where bucket_id = 'documents' and name like $1 order by name", [`${owner}/%`])).rows.map((r) => r.name);
    const deadline = Date.now() + 30_000;
    while ((await objects(leaving.id)).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await objects(leaving.id)).toEqual([]);
    expect((await stack.db.query('select count(*)::int as n from public.documents where owner_id = $1', [leaving.id])).rows[0].n).toBe(0);
    expect(await objects(staying.id)).toEqual([`${staying.id}/a.txt`, `${staying.id}/b.txt`]);
    const { data } = await staying.client.storage.from('documents').download(`${staying.id}/a.txt`);
    expect(await data!.text()).toBe('text of a.txt');
  });
});
