import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { allState, BOUNDARY, docxLike, messagesFor, multipartBody, postUpload, tinyPdf, uploadFile, userState } from './helpers.ts';

// End to end: supabase/ (config.toml, migrations, triggers) on the lite stack, the upload function in real Deno,
// reached through the gateway with a user's access token from supabase-js.
let stack: Stack;

beforeAll(async () => {
  // No scheduler: uploads stay queued, so these tests see exactly what the upload created.
  stack = await startTestStack({ seed: false, scheduler: false });
});

afterAll(async () => {
  await stack?.stop();
});

const MULTIPART = `multipart/form-data; boundary=${BOUNDARY}`;
const MiB = 1024 * 1024;

/** A body sent in chunks without Content-Length (chunked transfer), as a streaming client would. */
function chunked(bytes: Uint8Array, size = 256 * 1024): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, offset + size));
      offset += size;
    },
  });
}

async function expectError(response: Response, status: number, code: string, message: string): Promise<void> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  expect({ status: response.status, body: await response.json() }).toEqual({ status, body: { error: { code, message } } });
}

async function expectNothingStored(user: TestUser): Promise<void> {
  expect(await userState(stack, user.id)).toEqual({ objects: [], documents: [], chunks: 0, messages: 0 });
}

describe('GET /functions/v1/upload/healthz', () => {
  it('answers {"status":"ok"} without a token', async () => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/upload/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /functions/v1/upload/openapi.json', () => {
  it('documents the upload and sign routes with bearer security, without a token', async () => {
    const response = await fetch(`${stack.apiUrl}/functions/v1/upload/openapi.json`);
    expect(response.status).toBe(200);
    const doc = await response.json();
    expect(Object.keys(doc.paths).sort()).toEqual(['/upload', '/upload/healthz', '/upload/sign']);
    expect(Object.keys(doc.paths['/upload'].post.requestBody.content)).toEqual(['multipart/form-data']);
    expect(doc.components.securitySchemes.bearer).toEqual({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: "A Supabase Auth access token (the user's session `access_token`).",
    });
    expect(doc.servers).toEqual([{ url: '/functions/v1', description: "This project's Edge Functions" }]);
  });
});

describe('POST /functions/v1/upload', () => {
  it('stores a text file as the user, creates its documents row and queues it for processing', async () => {
    const user = await signUpUser(stack);
    const response = await uploadFile(stack, user, 'notes.txt', 'Hello, documents!');
    expect(response.status).toBe(202);
    const body = await response.json();
    expect(body).toEqual({ id: expect.any(String), path: `${user.id}/notes.txt`, status: 'queued', message: 'File processing has started.' });

    const { data: row, error } = await user.client.from('documents').select('*').eq('id', body.id).single();
    expect(error).toBeNull();
    expect(row).toMatchObject({
      owner_id: user.id,
      bucket_id: 'documents',
      storage_path: `${user.id}/notes.txt`,
      name: 'notes.txt',
      mime_type: 'text/plain',
      size_bytes: 17,
      status: 'queued',
      error: null,
      chat_id: null,
    });
    expect(await messagesFor(stack, body.id)).toEqual([{ stage: 'extract', generation: 0 }]);

    const { data: blob } = await user.client.storage.from('documents').download(`${user.id}/notes.txt`);
    expect(await blob!.text()).toBe('Hello, documents!');
    // Stored by the user's own request (RLS), so Storage records the user as the object's owner.
    const { rows } = await stack.db.query("select owner_id from storage.objects where bucket_id = 'documents' and name = $1", [`${user.id}/notes.txt`]);
    expect(rows).toEqual([{ owner_id: user.id }]);
  });

  it('stores a PDF byte for byte as application/pdf, even when the browser declares octet-stream', async () => {
    const user = await signUpUser(stack);
    const pdf = tinyPdf();
    const response = await uploadFile(stack, user, 'Paper.pdf', pdf, { type: 'application/octet-stream' });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const { data: row } = await user.client.from('documents').select('mime_type, size_bytes, name').eq('id', id).single();
    expect(row).toEqual({ mime_type: 'application/pdf', size_bytes: pdf.length, name: 'Paper.pdf' });
    const { data: blob } = await user.client.storage.from('documents').download(`${user.id}/Paper.pdf`);
    expect(new Uint8Array(await blob!.arrayBuffer())).toEqual(pdf);
    expect(await messagesFor(stack, id)).toHaveLength(1);
  });

  it('accepts a DOCX (a ZIP package) and every text type', async () => {
    const user = await signUpUser(stack);
    const files: Array<[string, string | Uint8Array, string]> = [
      ['letter.docx', docxLike(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
      ['readme.md', '# Title\n', 'text/markdown'],
      ['table.csv', 'a,b\n1,2\n', 'text/csv'],
      ['page.html', '<p>hi</p>', 'text/html'],
      ['data.json', '{"a":1}', 'application/json'],
      ['utf8.txt', '\ufeffBOM, größe, ✓', 'text/plain'],
    ];
    for (const [name, content, mimeType] of files) {
      const response = await uploadFile(stack, user, name, content, { type: '' });
      expect(response.status, name).toBe(202);
      const { id } = await response.json();
      const { data } = await user.client.from('documents').select('mime_type').eq('id', id).single();
      expect(data, name).toEqual({ mime_type: mimeType });
    }
  });

  it('attaches the document to one of the caller\'s chats with ?chat_id=', async () => {
    const user = await signUpUser(stack);
    const { data: chat } = await user.client.from('chats').insert({ title: 'Research' }).select('id').single();
    const response = await uploadFile(stack, user, 'for-chat.txt', 'chat material', { query: `?chat_id=${chat!.id}` });
    expect(response.status).toBe(202);
    const { id } = await response.json();
    const { data } = await user.client.from('documents').select('chat_id').eq('id', id).single();
    expect(data).toEqual({ chat_id: chat!.id });
  });

  it('answers 404 chat_not_found for another user\'s chat and stores nothing', async () => {
    const owner = await signUpUser(stack);
    const stranger = await signUpUser(stack);
    const { data: chat } = await owner.client.from('chats').insert({ title: 'Private' }).select('id').single();
    const response = await uploadFile(stack, stranger, 'x.txt', 'x', { query: `?chat_id=${chat!.id}` });
    await expectError(response, 404, 'chat_not_found', `Chat ${chat!.id} was not found.`);
    await expectNothingStored(stranger);
  });

  it('answers 400 validation_failed for a chat_id that is not a UUID', async () => {
    const user = await signUpUser(stack);
    const response = await uploadFile(stack, user, 'x.txt', 'x', { query: '?chat_id=nope' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'query.chat_id', code: 'invalid_format', message: 'Invalid UUID' }],
      },
    });
    await expectNothingStored(user);
  });

  it('answers a second upload of the same name with 409 file_exists and keeps the first', async () => {
    const user = await signUpUser(stack);
    expect((await uploadFile(stack, user, 'twice.txt', 'first')).status).toBe(202);
    const response = await uploadFile(stack, user, 'twice.txt', 'second');
    await expectError(response, 409, 'file_exists', 'File twice.txt already exists in storage.');
    const state = await userState(stack, user.id);
    expect(state).toEqual({ objects: [`${user.id}/twice.txt`], documents: [`${user.id}/twice.txt`], chunks: 0, messages: 1 });
    const { data: blob } = await user.client.storage.from('documents').download(`${user.id}/twice.txt`);
    expect(await blob!.text()).toBe('first');
  });

  it('answers a duplicate with 409 also when a large body is still streaming in, and the connection stays usable', async () => {
    const user = await signUpUser(stack);
    expect((await uploadFile(stack, user, 'big-twice.txt', 'x')).status).toBe(202);
    const body = multipartBody([{ name: 'file', filename: 'big-twice.txt', content: 'y'.repeat(5 * MiB) }]);
    const response = await postUpload(stack, user.token, chunked(body), { contentType: MULTIPART });
    await expectError(response, 409, 'file_exists', 'File big-twice.txt already exists in storage.');
    expect((await uploadFile(stack, user, 'after.txt', 'still here')).status).toBe(202);
  });

  it('stores sanitised names: path segments dropped, controls removed, Unicode normalised and folded', async () => {
    const user = await signUpUser(stack);
    const cases: Array<[string, string]> = [
      ['../../etc/passwd.txt', 'passwd.txt'],
      ['C:\\Users\\ada\\report.md', 'report.md'],
      ['tab\there\u202e.txt', 'tabhere.txt'],
      ['cafe\u0301 menu.txt', 'cafe menu.txt'],
      [`${'n'.repeat(400)}.csv`, `${'n'.repeat(196)}.csv`],
    ];
    for (const [sent, stored] of cases) {
      const body = multipartBody([{ name: 'file', filename: sent, contentType: 'text/plain', content: 'content' }]);
      const response = await postUpload(stack, user.token, body, { contentType: MULTIPART });
      expect(response.status, sent).toBe(202);
      expect((await response.json()).path, sent).toBe(`${user.id}/${stored}`);
    }
    // Composed and decomposed spellings are one name: the second is a duplicate.
    const again = multipartBody([{ name: 'file', filename: 'caf\u00e9 menu.txt', content: 'content' }]);
    await expectError(await postUpload(stack, user.token, again, { contentType: MULTIPART }), 409, 'file_exists', 'File cafe menu.txt already exists in storage.');
  });

  it('answers 400 invalid_file_name for a name that is empty once sanitised', async () => {
    const user = await signUpUser(stack);
    for (const filename of ['..', '/', ' . ', '\u200b']) {
      const body = multipartBody([{ name: 'file', filename, contentType: 'text/plain', content: 'content' }]);
      const response = await postUpload(stack, user.token, body, { contentType: MULTIPART });
      await expectError(response, 400, 'invalid_file_name', 'The file name is empty or has no usable characters.');
    }
    await expectNothingStored(user);
  });

  it('answers 400 empty_file for a file without bytes', async () => {
    const user = await signUpUser(stack);
    await expectError(await uploadFile(stack, user, 'empty.txt', ''), 400, 'empty_file', 'The file is empty.');
    await expectNothingStored(user);
  });

  it('answers 400 missing_file when no part is named "file" (other parts are ignored)', async () => {
    const user = await signUpUser(stack);
    const body = multipartBody([
      { name: 'title', content: 'no file here' },
      { name: 'document', filename: 'a.txt', contentType: 'text/plain', content: 'wrong field' },
    ]);
    const response = await postUpload(stack, user.token, body, { contentType: MULTIPART });
    await expectError(response, 400, 'missing_file', 'The form has no file field named "file".');
    const empty = await postUpload(stack, user.token, new Uint8Array(new TextEncoder().encode(`--${BOUNDARY}--\r\n`)), { contentType: MULTIPART });
    await expectError(empty, 400, 'missing_file', 'The form has no file field named "file".');
    await expectNothingStored(user);
  });

  it('takes the "file" part after other parts', async () => {
    const user = await signUpUser(stack);
    const body = multipartBody([
      { name: 'note', content: 'first a field' },
      { name: 'other', filename: 'skip.txt', contentType: 'text/plain', content: 'skipped' },
      { name: 'file', filename: 'third.txt', contentType: 'text/plain', content: 'the file' },
    ]);
    const response = await postUpload(stack, user.token, body, { contentType: MULTIPART });
    expect(response.status).toBe(202);
    expect((await userState(stack, user.id)).objects).toEqual([`${user.id}/third.txt`]);
  });

  it('answers 400 invalid_content_type for JSON, a plain body, or multipart without a boundary', async () => {
    const user = await signUpUser(stack);
    const message = 'The request body must be multipart/form-data with a file field named "file".';
    await expectError(await postUpload(stack, user.token, '{"file":"x"}', { contentType: 'application/json' }), 400, 'invalid_content_type', message);
    await expectError(await postUpload(stack, user.token, 'hello', { contentType: 'text/plain' }), 400, 'invalid_content_type', message);
    await expectError(await postUpload(stack, user.token, 'hello', { contentType: 'multipart/form-data' }), 400, 'invalid_content_type', message);
    await expectNothingStored(user);
  });

  it('answers 400 malformed_multipart for a body cut off inside the file, and stores nothing', async () => {
    const user = await signUpUser(stack);
    const body = multipartBody([{ name: 'file', filename: 'cut.txt', contentType: 'text/plain', content: 'z'.repeat(MiB) }], { truncate: true });
    const response = await postUpload(stack, user.token, chunked(body), { contentType: MULTIPART });
    await expectError(response, 400, 'malformed_multipart', 'The multipart/form-data body is malformed or incomplete.');
    await expectNothingStored(user);
  });

  it('answers 415 unsupported_file_type for a type outside the allow-list', async () => {
    const user = await signUpUser(stack);
    const message = 'Only .txt, .md, .csv, .html, .json, .pdf and .docx files can be uploaded.';
    await expectError(await uploadFile(stack, user, 'tool.exe', 'MZ', { type: 'application/octet-stream' }), 415, 'unsupported_file_type', message);
    await expectError(await uploadFile(stack, user, 'image.png', 'png', { type: 'image/png' }), 415, 'unsupported_file_type', message);
    await expectError(await uploadFile(stack, user, 'noext', 'x', { type: 'application/octet-stream' }), 415, 'unsupported_file_type', message);
    await expectNothingStored(user);
  });

  it('answers 415 file_content_mismatch when the content is not what the name says', async () => {
    const user = await signUpUser(stack);
    await expectError(
      await uploadFile(stack, user, 'fake.pdf', 'not a pdf at all', { type: 'application/pdf' }),
      415,
      'file_content_mismatch',
      "The file's content is not a PDF document, as its name or type says.",
    );
    await expectError(
      await uploadFile(stack, user, 'fake.docx', 'plain text'),
      415,
      'file_content_mismatch',
      "The file's content is not a DOCX document, as its name or type says.",
    );
    const textMessage = "The file's content is not UTF-8 text, as its name or type says.";
    await expectError(await uploadFile(stack, user, 'renamed.txt', tinyPdf()), 415, 'file_content_mismatch', textMessage);
    await expectError(await uploadFile(stack, user, 'binary.csv', Uint8Array.of(0x61, 0x2c, 0xff, 0xfe)), 415, 'file_content_mismatch', textMessage);
    await expectError(await uploadFile(stack, user, 'nul.md', Uint8Array.of(0x61, 0x00, 0x62)), 415, 'file_content_mismatch', textMessage);
    await expectNothingStored(user);
  });

  it('refuses invalid UTF-8 found only at the end of a large text file, after Storage received the rest: nothing is stored', async () => {
    const user = await signUpUser(stack);
    const content = new Uint8Array(3 * MiB).fill(0x61);
    content[content.length - 1] = 0xc3; // the first byte of a two-byte character, never completed
    const body = multipartBody([{ name: 'file', filename: 'late.txt', contentType: 'text/plain', content }]);
    const response = await postUpload(stack, user.token, chunked(body), { contentType: MULTIPART });
    await expectError(response, 415, 'file_content_mismatch', "The file's content is not UTF-8 text, as its name or type says.");
    await expectNothingStored(user);
  });

  it('answers 413 file_too_large over the free plan\'s 10 MiB, streamed without Content-Length, and stores nothing', async () => {
    const user = await signUpUser(stack);
    const body = multipartBody([{ name: 'file', filename: 'big.txt', contentType: 'text/plain', content: new Uint8Array(10 * MiB + 1).fill(0x62) }]);
    const response = await postUpload(stack, user.token, chunked(body), { contentType: MULTIPART });
    await expectError(response, 413, 'file_too_large', 'The file exceeds the 10 MiB upload limit of the Free plan.');
    await expectNothingStored(user);
  });

  it('answers 413 at once from Content-Length, and accepts exactly 10 MiB on the free plan', async () => {
    const user = await signUpUser(stack);
    const tooBig = await uploadFile(stack, user, 'huge.txt', new Uint8Array(12 * MiB).fill(0x63));
    await expectError(tooBig, 413, 'file_too_large', 'The file exceeds the 10 MiB upload limit of the Free plan.');
    await expectNothingStored(user);
    const exact = await uploadFile(stack, user, 'exact.txt', new Uint8Array(10 * MiB).fill(0x63));
    expect(exact.status).toBe(202);
  });

  it('lets a Pro subscriber upload more than the free limit, up to the bucket\'s 50 MiB (plans + subscriptions)', async () => {
    const user = await signUpUser(stack);
    await stack.db.query("insert into public.subscriptions (user_id, plan_id, status) values ($1, 'pro', 'active')", [user.id]);
    const response = await uploadFile(stack, user, 'pro.txt', new Uint8Array(11 * MiB).fill(0x64));
    expect(response.status).toBe(202);
    // The bucket's 50 MiB still applies to Pro.
    const overBucket = await uploadFile(stack, user, 'over-bucket.txt', new Uint8Array(51 * MiB).fill(0x64));
    await expectError(overBucket, 413, 'file_too_large', 'The file exceeds the 50 MiB limit of bucket documents.');
    expect((await userState(stack, user.id)).objects).toEqual([`${user.id}/pro.txt`]);
    // A canceled subscription is the free plan again.
    await stack.db.query("update public.subscriptions set status = 'canceled' where user_id = $1", [user.id]);
    const lapsed = await uploadFile(stack, user, 'lapsed.txt', new Uint8Array(11 * MiB).fill(0x64));
    await expectError(lapsed, 413, 'file_too_large', 'The file exceeds the 10 MiB upload limit of the Free plan.');
  });

  it('answers 401 without a token or with a bad one, and stores nothing', async () => {
    const user = await signUpUser(stack);
    // None of these requests carries a user's token, so a leak would land anywhere: compare the whole bucket and tables.
    const before = await allState(stack);
    const form = () => {
      const data = new FormData();
      data.append('file', new Blob(['x'], { type: 'text/plain' }), 'x.txt');
      return data;
    };
    const missing = await postUpload(stack, undefined, form());
    await expectError(missing, 401, 'missing_authorization', 'Authorization header is required.');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const anonKey = await postUpload(stack, stack.keys.anon, form());
    await expectError(anonKey, 401, 'invalid_token', 'Token "aud" claim must be "authenticated".');
    const garbage = await postUpload(stack, 'not.a.jwt', form());
    await expectError(garbage, 401, 'invalid_token', 'Token is malformed.');
    // A large body still streaming in when the 401 is decided: the answer arrives and the connection stays usable.
    const large = multipartBody([{ name: 'file', filename: 'big.txt', content: 'q'.repeat(5 * MiB) }]);
    const early = await postUpload(stack, undefined, chunked(large), { contentType: MULTIPART });
    await expectError(early, 401, 'missing_authorization', 'Authorization header is required.');
    expect(await allState(stack)).toEqual(before);
    expect((await uploadFile(stack, user, 'after-401.txt', 'fine')).status).toBe(202);
  });
});

describe('POST /functions/v1/upload/sign', () => {
  function sign(user: TestUser, body: unknown): Promise<Response> {
    return fetch(`${stack.apiUrl}/functions/v1/upload/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  it('returns a signed upload URL for the sanitised path; uploading to it creates the row and queues it', async () => {
    const user = await signUpUser(stack);
    const response = await sign(user, { name: '../Big Report.pdf' });
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({
      path: `${user.id}/Big Report.pdf`,
      token: expect.any(String),
      signed_url: expect.stringContaining('/storage/v1/object/upload/sign/documents/'),
      content_type: 'application/pdf',
    });
    const { error } = await user.client.storage
      .from('documents')
      .uploadToSignedUrl(body.path, body.token, tinyPdf(), { contentType: body.content_type });
    expect(error).toBeNull();
    const { data: row } = await user.client.from('documents').select('id, status, mime_type').eq('storage_path', body.path).single();
    expect(row).toMatchObject({ status: 'queued', mime_type: 'application/pdf' });
    expect(await messagesFor(stack, row!.id)).toHaveLength(1);
  });

  it('answers 409 for a name already stored, 415 for a type not allowed, 400 for a missing or empty name', async () => {
    const user = await signUpUser(stack);
    expect((await uploadFile(stack, user, 'have.txt', 'x')).status).toBe(202);
    await expectError(await sign(user, { name: 'have.txt' }), 409, 'file_exists', 'File have.txt already exists in storage.');
    await expectError(await sign(user, { name: 'x.exe' }), 415, 'unsupported_file_type', 'Only .txt, .md, .csv, .html, .json, .pdf and .docx files can be uploaded.');
    await expectError(await sign(user, { name: '..' }), 400, 'invalid_file_name', 'The file name is empty or has no usable characters.');
    const missing = await sign(user, {});
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'json.name', code: 'invalid_type', message: 'Invalid input: expected string, received undefined' }],
      },
    });
  });
});

describe('uploads straight to Storage with supabase-js', () => {
  it('also create the documents row and queue it (the trigger, not the function, does it)', async () => {
    const user = await signUpUser(stack);
    const { data, error } = await user.client.storage
      .from('documents')
      .upload(`${user.id}/direct.md`, new Blob(['# direct'], { type: 'text/markdown' }));
    expect(error).toBeNull();
    expect(data).toMatchObject({ path: `${user.id}/direct.md` });
    const { data: row } = await user.client.from('documents').select('id, name, status, mime_type').eq('storage_path', `${user.id}/direct.md`).single();
    expect(row).toMatchObject({ name: 'direct.md', status: 'queued', mime_type: 'text/markdown' });
    expect(await messagesFor(stack, row!.id)).toEqual([{ stage: 'extract', generation: 0 }]);
  });

  it('refuse a user writing into another user\'s folder, leaving nothing behind', async () => {
    const owner = await signUpUser(stack);
    const intruder = await signUpUser(stack);
    const { error } = await intruder.client.storage
      .from('documents')
      .upload(`${owner.id}/planted.txt`, new Blob(['gotcha'], { type: 'text/plain' }));
    expect(error).toMatchObject({ statusCode: '403' });
    await expectNothingStored(owner);
    const anon = anonClient(stack);
    const anonymous = await anon.storage.from('documents').upload(`${owner.id}/anon.txt`, new Blob(['x'], { type: 'text/plain' }));
    expect(anonymous.error).toMatchObject({ statusCode: '403' });
    await expectNothingStored(owner);
  });
});
