import { describe, expect, it } from 'vitest';
import { createApp } from '../../../supabase/functions/upload/app.ts';
import { asUser, fakeUserDeps, type FakeRequest } from '../fake-deps.ts';

// The upload app in process, with a fake Data API and Storage: the checks made before a byte is stored.
// upload.test.ts runs it in real Deno against the lite stack (streaming, limits, what is stored).
const FREE = { id: 'free', name: 'Free', max_upload_bytes: 10, max_documents: 20, daily_request_limit: 20 };

function dataApi(request: FakeRequest) {
  if (request.path === '/rest/v1/subscriptions') return { status: 200, body: null };
  if (request.path === '/rest/v1/plans') return { status: 200, body: FREE };
  if (request.path === '/rest/v1/documents') return { status: 200, body: null };
  return { status: 500, body: { message: `unexpected ${request.method} ${request.path}` } };
}

function app() {
  const { deps, requests } = fakeUserDeps(dataApi);
  return { app: createApp({ ...deps, logger: { log() {}, child() { return this; } } }), requests };
}

function form(name: string, content: string, type = 'text/plain'): FormData {
  const data = new FormData();
  data.append('file', new Blob([content], { type }), name);
  return data;
}

describe('upload app (in process)', () => {
  it('returns 400 invalid_content_type for a body that is not multipart', async () => {
    const response = await app().app.request('/upload', { method: 'POST', headers: { ...asUser, 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: { code: 'invalid_content_type', message: 'The request body must be multipart/form-data with a file field named "file".' },
    });
  });

  it("returns 413 from the plan's limit, naming the plan, without touching Storage", async () => {
    const { app: upload, requests } = app();
    const response = await upload.request('/upload', { method: 'POST', headers: asUser, body: form('big.txt', 'more than ten bytes') });
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({ error: { code: 'file_too_large', message: 'The file exceeds the 10 bytes upload limit of the Free plan.' } });
    expect(requests.some((r) => r.path.startsWith('/storage/'))).toBe(false);
  });

  it('returns 415 for an unsupported type and for content that is not what the name says', async () => {
    const { app: upload, requests } = app();
    const exe = await upload.request('/upload', { method: 'POST', headers: asUser, body: form('tool.exe', 'MZ') });
    expect(exe.status).toBe(415);
    expect((await exe.json()).error.code).toBe('unsupported_file_type');
    const fakePdf = await upload.request('/upload', { method: 'POST', headers: asUser, body: form('a.pdf', 'hello') });
    expect(fakePdf.status).toBe(415);
    expect(await fakePdf.json()).toEqual({
      error: { code: 'file_content_mismatch', message: "The file's content is not a PDF document, as its name or type says." },
    });
    expect(requests.some((r) => r.path.startsWith('/storage/'))).toBe(false);
  });

  it('returns 400 validation_failed for a chat_id that is not a UUID and 401 without a token', async () => {
    const { app: upload } = app();
    const badChat = await upload.request('/upload?chat_id=nope', { method: 'POST', headers: asUser, body: form('a.txt', 'x') });
    expect(badChat.status).toBe(400);
    expect((await badChat.json()).error.details).toEqual([{ path: 'query.chat_id', code: 'invalid_format', message: 'Invalid UUID' }]);
    const anonymous = await upload.request('/upload', { method: 'POST', body: form('a.txt', 'x') });
    expect(anonymous.status).toBe(401);
  });
});
