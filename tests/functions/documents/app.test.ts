import { describe, expect, it } from 'vitest';
import { createApp } from '../../../supabase/functions/documents/app.ts';
import { asUser, fakeUserDeps, postgrestError } from '../fake-deps.ts';

// The documents app in process, with a fake Data API: validation, authentication and error mapping.
// documents.test.ts runs it in real Deno against the lite stack.
const ID = '0b9f6c1e-8a51-4d7c-9a3e-5f2b1c0d9e8a';

function app(answer?: Parameters<typeof fakeUserDeps>[0]) {
  const { deps, requests } = fakeUserDeps(answer);
  return { app: createApp({ ...deps, logger: { log() {}, child() { return this; } } }), requests };
}

describe('documents app (in process)', () => {
  it('returns 404 document_not_found when the caller has no such document (RLS hides the others)', async () => {
    const { app: documents } = app(() => ({ status: 200, body: [] }));
    for (const [method, path] of [['GET', `/documents/${ID}`], ['DELETE', `/documents/${ID}`]]) {
      const response = await documents.request(path, { method, headers: asUser });
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(await response.json()).toEqual({ error: { code: 'document_not_found', message: `Document ${ID} was not found.` } });
    }
  });

  it('maps reprocess_document errors by code: P0002 → 404, P0001 → 409', async () => {
    const missing = app(() => ({ status: 400, body: postgrestError('P0002', 'documents: document not found') })).app;
    const notFound = await missing.request(`/documents/${ID}/reprocess`, { method: 'POST', headers: asUser });
    expect(notFound.status).toBe(404);
    expect(await notFound.json()).toEqual({ error: { code: 'document_not_found', message: `Document ${ID} was not found.` } });

    const busy = app(() => ({ status: 400, body: postgrestError('P0001', 'documents: document is queued') })).app;
    const conflict = await busy.request(`/documents/${ID}/reprocess`, { method: 'POST', headers: asUser });
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual({
      error: { code: 'document_not_reprocessable', message: 'Only ready or failed documents can be reprocessed.' },
    });
  });

  it('returns 400 for an id that is not a UUID, a malformed cursor, or cursor and page together, asking nothing', async () => {
    const { app: documents, requests } = app();
    const badId = await documents.request('/documents/not-a-uuid', { headers: asUser });
    expect(badId.status).toBe(400);
    expect(await badId.json()).toEqual({
      error: { code: 'validation_failed', message: 'The request is invalid.', details: [{ path: 'param.id', code: 'invalid_format', message: 'id must be a UUID' }] },
    });
    const badCursor = await documents.request('/documents?cursor=bm9wZQ', { headers: asUser });
    expect(badCursor.status).toBe(400);
    expect(await badCursor.json()).toEqual({ error: { code: 'invalid_cursor', message: 'cursor is not a next_cursor this endpoint returned.' } });
    const both = await documents.request('/documents?cursor=x&page=2', { headers: asUser });
    expect(both.status).toBe(400);
    expect((await both.json()).error.details).toEqual([{ path: 'query.page', code: 'custom', message: 'use either cursor or page, not both' }]);
    expect(requests).toEqual([]);
  });

  it('returns 401 on every route without a token', async () => {
    const { app: documents, requests } = app();
    for (const [method, path] of [['GET', '/documents'], ['GET', `/documents/${ID}`], ['DELETE', `/documents/${ID}`], ['POST', `/documents/${ID}/reprocess`]]) {
      const response = await documents.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
    }
    expect(requests).toEqual([]);
  });

  it('serves openapi.json although /{id} would match it', async () => {
    const { app: documents } = app();
    const response = await documents.request('/documents/openapi.json');
    expect(response.status).toBe(200);
    expect((await response.json()).info.title).toBe('edgebrain documents');
  });
});
