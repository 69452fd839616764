import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { messagesFor, tinyPdf, uploadFile, userState } from '../upload/helpers.ts';

// End to end: the documents function in real Deno behind the gateway, documents put there by the upload function.
let stack: Stack;

beforeAll(async () => {
  // No scheduler: uploads stay queued, so these tests see exactly what the upload created.
  stack = await startTestStack({ seed: false, scheduler: false });
});

afterAll(async () => {
  await stack?.stop();
});

const MISSING_ID = '00000000-0000-4000-8000-000000000000';

function call(user: TestUser | undefined, method: string, path = '', headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/documents${path}`, {
    method,
    headers: { ...(user ? { authorization: `Bearer ${user.token}` } : {}), ...headers },
  });
}

async function upload(user: TestUser, name: string, content: string | Uint8Array = `content of ${name}`): Promise<string> {
  const response = await uploadFile(stack, user, name, content, { type: name.endsWith('.pdf') ? 'application/pdf' : 'text/plain' });
  expect(response.status, name).toBe(202);
  return (await response.json()).id;
}

async function expectError(response: Response, status: number, code: string, message: string): Promise<void> {
  expect({ status: response.status, body: await response.json() }).toEqual({ status, body: { error: { code, message } } });
}

const notFound = (id: string) => ({ code: 'document_not_found', message: `Document ${id} was not found.` });

describe('GET /functions/v1/documents', () => {
  it('lists only the caller\'s documents, newest first, with status and error', async () => {
    const user = await signUpUser(stack);
    const other = await signUpUser(stack);
    const first = await upload(user, 'first.txt');
    const second = await upload(user, 'second.pdf', tinyPdf());
    await upload(other, 'not-mine.txt');
    await stack.db.query("update public.documents set status = 'failed', error = 'parser exploded', error_code = 'corrupt_file' where id = $1", [first]);

    const response = await call(user, 'GET');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.next_cursor).toBeNull();
    expect(body.items.map((d: { id: string }) => d.id)).toEqual([second, first]);
    expect(body.items[1]).toEqual({
      id: first,
      name: 'first.txt',
      path: `${user.id}/first.txt`,
      chat_id: null,
      status: 'failed',
      error: 'parser exploded',
      error_code: 'corrupt_file',
      progress: null,
      mime_type: 'text/plain',
      size_bytes: 'content of first.txt'.length,
      page_count: null,
      chunk_count: 0,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      processed_at: null,
    });
    expect(body.items[0]).toMatchObject({ status: 'queued', error: null, mime_type: 'application/pdf' });
  });

  it('shows how far processing has got while a document is processing', async () => {
    const user = await signUpUser(stack);
    const id = await upload(user, 'long.txt');
    const progress = { stage: 'embedding', done: 3, total: 10, unit: 'chunks' };
    await stack.db.query("update public.documents set status = 'processing', progress = $2, page_count = 12 where id = $1", [id, progress]);

    const body = await (await call(user, 'GET')).json();
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({ id, status: 'processing', progress, page_count: 12 });
    expect(await (await call(user, 'GET', `/${id}`)).json()).toMatchObject({ id, progress, page_count: 12 });
  });

  it('pages with limit and cursor until next_cursor is null, and with page/limit and a total', async () => {
    const user = await signUpUser(stack);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await upload(user, `page-${i}.txt`));
    const newestFirst = [...ids].reverse();

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const response = await call(user, 'GET', `?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...body.items.map((d: { id: string }) => d.id));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen).toEqual(newestFirst);
    expect(pages).toBe(3);

    const page2 = await (await call(user, 'GET', '?page=2&limit=2')).json();
    expect(page2.items.map((d: { id: string }) => d.id)).toEqual(newestFirst.slice(2, 4));
    expect(page2).toMatchObject({ page: 2, total: 5, next_cursor: expect.any(String) });
    const page3 = await (await call(user, 'GET', '?page=3&limit=2')).json();
    expect(page3).toMatchObject({ page: 3, total: 5, next_cursor: null });
    expect(page3.items.map((d: { id: string }) => d.id)).toEqual(newestFirst.slice(4));
  });

  it('answers 400 for a bad limit, a forged cursor, or cursor and page together', async () => {
    const user = await signUpUser(stack);
    const badLimit = await call(user, 'GET', '?limit=0');
    expect(badLimit.status).toBe(400);
    expect(await badLimit.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'query.limit', code: 'too_small', message: 'limit must be at least 1' }],
      },
    });
    await expectError(await call(user, 'GET', '?cursor=bm9wZQ'), 400, 'invalid_cursor', 'cursor is not a next_cursor this endpoint returned.');
    const both = await call(user, 'GET', '?cursor=abc&page=1');
    expect(both.status).toBe(400);
    expect(await both.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'query.page', code: 'custom', message: 'use either cursor or page, not both' }],
      },
    });
  });

  it('answers 401 without a token', async () => {
    await expectError(await call(undefined, 'GET'), 401, 'missing_authorization', 'Authorization header is required.');
  });
});

describe('GET /functions/v1/documents/{id}', () => {
  it('returns the document with a short-lived signed URL that downloads its bytes', async () => {
    const user = await signUpUser(stack);
    const pdf = tinyPdf('Download me');
    const id = await upload(user, 'fetch.pdf', pdf);
    const response = await call(user, 'GET', `/${id}`);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toMatchObject({ id, name: 'fetch.pdf', path: `${user.id}/fetch.pdf`, status: 'queued', download_url_expires_in: 60 });
    const download = await fetch(body.download_url);
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(pdf);
  });

  it('answers 404 for another user\'s document exactly as for a missing one, and 400 for a non-UUID', async () => {
    const owner = await signUpUser(stack);
    const stranger = await signUpUser(stack);
    const id = await upload(owner, 'secret.txt');
    expect({ status: (await call(stranger, 'GET', `/${id}`)).status }).toEqual({ status: 404 });
    await expectError(await call(stranger, 'GET', `/${id}`), 404, notFound(id).code, notFound(id).message);
    await expectError(await call(owner, 'GET', `/${MISSING_ID}`), 404, notFound(MISSING_ID).code, notFound(MISSING_ID).message);
    const invalid = await call(owner, 'GET', '/not-a-uuid');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'param.id', code: 'invalid_format', message: 'id must be a UUID' }],
      },
    });
  });
});

describe('DELETE /functions/v1/documents/{id}', () => {
  it('removes the object; the row, its chunks and its queued messages go with it, leaving nothing behind', async () => {
    const user = await signUpUser(stack);
    const id = await upload(user, 'doomed.txt');
    const keep = await upload(user, 'keeper.txt');
    await stack.db.query(
      "insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count) values ($1, $2, 0, 'a chunk', 2)",
      [id, user.id],
    );
    expect(await messagesFor(stack, id)).toHaveLength(1);

    const response = await call(user, 'DELETE', `/${id}`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');

    expect(await userState(stack, user.id)).toEqual({
      objects: [`${user.id}/keeper.txt`],
      documents: [`${user.id}/keeper.txt`],
      chunks: 0,
      messages: 1,
    });
    expect(await messagesFor(stack, id)).toEqual([]);
    expect(await messagesFor(stack, keep)).toHaveLength(1);
    await expectError(await call(user, 'DELETE', `/${id}`), 404, notFound(id).code, notFound(id).message);
    // The name is free again.
    expect((await uploadFile(stack, user, 'doomed.txt', 'again')).status).toBe(202);
  });

  it('answers 404 for another user\'s document and leaves it whole', async () => {
    const owner = await signUpUser(stack);
    const stranger = await signUpUser(stack);
    const id = await upload(owner, 'mine.txt');
    await expectError(await call(stranger, 'DELETE', `/${id}`), 404, notFound(id).code, notFound(id).message);
    expect(await userState(stack, owner.id)).toEqual({ objects: [`${owner.id}/mine.txt`], documents: [`${owner.id}/mine.txt`], chunks: 0, messages: 1 });
  });
});

describe('POST /functions/v1/documents/{id}/reprocess', () => {
  it('queues a ready or failed document again (a new generation), and answers 409 while it is queued', async () => {
    const user = await signUpUser(stack);
    const id = await upload(user, 'again.txt');
    await expectError(await call(user, 'POST', `/${id}/reprocess`), 409, 'document_not_reprocessable', 'Only ready or failed documents can be reprocessed.');

    // As if the worker had taken the message and failed the document.
    await stack.db.query("select pgmq.delete('document_ingestion', msg_id) from pgmq.q_document_ingestion where message ->> 'document_id' = $1", [id]);
    await stack.db.query("update public.documents set status = 'failed', error = 'boom' where id = $1", [id]);
    const response = await call(user, 'POST', `/${id}/reprocess`);
    expect(response.status).toBe(202);
    expect(await response.json()).toEqual({ id, status: 'queued', message: 'Document processing has started again.' });
    const { data } = await user.client.from('documents').select('status, error').eq('id', id).single();
    expect(data).toEqual({ status: 'queued', error: null });
    expect(await messagesFor(stack, id)).toEqual([{ stage: 'extract', generation: 1 }]);
  });

  it('answers 404 for another user\'s document, whatever its status, and changes nothing', async () => {
    const owner = await signUpUser(stack);
    const stranger = await signUpUser(stack);
    const id = await upload(owner, 'ready.txt');
    await stack.db.query("update public.documents set status = 'ready' where id = $1", [id]);
    await expectError(await call(stranger, 'POST', `/${id}/reprocess`), 404, notFound(id).code, notFound(id).message);
    await expectError(await call(owner, 'POST', `/${MISSING_ID}/reprocess`), 404, notFound(MISSING_ID).code, notFound(MISSING_ID).message);
    const { rows } = await stack.db.query('select status from public.documents where id = $1', [id]);
    expect(rows).toEqual([{ status: 'ready' }]);
    expect(await messagesFor(stack, id)).toHaveLength(1);
  });
});

describe('another user\'s document through the Data and Storage APIs', () => {
  it('cannot be read, listed, downloaded, signed, deleted, moved, overwritten or reprocessed', async () => {
    const owner = await signUpUser(stack);
    const stranger = await signUpUser(stack);
    const id = await upload(owner, 'private.txt', 'top secret');
    const path = `${owner.id}/private.txt`;
    await stack.db.query(
      "insert into public.document_chunks (document_id, owner_id, chunk_index, content, token_count) values ($1, $2, 0, 'top secret', 2)",
      [id, owner.id],
    );

    // Data API
    expect((await stranger.client.from('documents').select('id')).data).toEqual([]);
    expect((await stranger.client.from('documents').select('id').eq('id', id)).data).toEqual([]);
    expect((await stranger.client.from('document_chunks').select('id')).data).toEqual([]);
    const rpc = await stranger.client.rpc('reprocess_document', { document_id: id });
    expect(rpc.error).toMatchObject({ code: 'P0002' });
    // Owners may set their own row's status (to reprocess); a stranger's update reaches no row.
    const update = await stranger.client.from('documents').update({ status: 'queued' }).eq('id', id).select();
    expect(update).toMatchObject({ error: null, data: [] });
    const remove = await stranger.client.from('documents').delete().eq('id', id).select();
    expect(remove.error).toMatchObject({ code: '42501' });

    // Storage API
    const bucket = stranger.client.storage.from('documents');
    expect((await bucket.download(path)).error).toMatchObject({ statusCode: '404' });
    expect((await bucket.list(owner.id)).data).toEqual([]);
    expect((await bucket.createSignedUrl(path, 60)).error).toMatchObject({ statusCode: '404' });
    expect((await bucket.remove([path])).data).toEqual([]);
    expect((await bucket.move(path, `${stranger.id}/stolen.txt`)).error).not.toBeNull();
    expect((await bucket.upload(path, new Blob(['overwritten'], { type: 'text/plain' }), { upsert: true })).error).not.toBeNull();
    expect((await bucket.exists(path)).data).toBe(false);

    // Still whole, still the owner's, unchanged.
    expect(await userState(stack, owner.id)).toEqual({ objects: [path], documents: [path], chunks: 1, messages: 1 });
    expect(await userState(stack, stranger.id)).toEqual({ objects: [], documents: [], chunks: 0, messages: 0 });
    const { data: blob } = await owner.client.storage.from('documents').download(path);
    expect(await blob!.text()).toBe('top secret');
  });
});

describe('GET /functions/v1/documents/openapi.json', () => {
  it('documents every route, without a token', async () => {
    const response = await call(undefined, 'GET', '/openapi.json');
    expect(response.status).toBe(200);
    const doc = await response.json();
    expect(Object.keys(doc.paths).sort()).toEqual(['/documents', '/documents/healthz', '/documents/{id}', '/documents/{id}/reprocess']);
    expect(Object.keys(doc.paths['/documents/{id}']).sort()).toEqual(['delete', 'get']);
  });
});

describe('GET /functions/v1/documents/healthz', () => {
  it('answers {"status":"ok"} without a token', async () => {
    const response = await call(undefined, 'GET', '/healthz');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});
