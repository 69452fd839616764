import { z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import { DOCUMENTS_BUCKET } from '../_shared/buckets.ts';
import { type DatabaseErrorOverrides, unwrap } from '../_shared/database-errors.ts';
import { ApiError } from '../_shared/errors.ts';
import { IdParamsSchema, isUuid } from '../_shared/ids.ts';
import type { Logger } from '../_shared/log.ts';
import { documentedError, intQueryParam } from '../_shared/openapi.ts';
import { type Client, type UserRouteDeps, userRoute } from '../_shared/routes.ts';
import { storageErrorStatus } from '../_shared/storage-errors.ts';

/** What the documents app needs; every read and write goes through a client acting as the caller (RLS). */
export interface DocumentsDeps extends UserRouteDeps {
  /** Lifetime of download URLs in seconds; default 60. */
  downloadUrlExpiresIn?: number;
  logger?: Logger;
}

const COLUMNS =
  'id, name, storage_path, chat_id, status, error, error_code, progress, mime_type, size_bytes, page_count, chunk_count, created_at, updated_at, processed_at';

const ProgressSchema = z
  .object({
    stage: z.enum(['extracting', 'embedding']),
    done: z.number().int(),
    total: z.number().int().nullable().openapi({ description: 'Null while the total is not known yet (e.g. text before it is chunked).' }),
    unit: z.enum(['pages', 'chunks']),
  })
  .openapi('DocumentProgress');

export const DocumentSchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ description: 'File name as stored (sanitised).', example: 'report.pdf' }),
    path: z.string().openapi({ description: 'Object name in bucket `documents`: `{user_id}/{name}`.' }),
    chat_id: z.uuid().nullable(),
    status: z.enum(['queued', 'processing', 'ready', 'failed']),
    error: z.string().nullable().openapi({ description: 'Why processing failed, when status is failed: a sentence for the owner.' }),
    error_code: z.string().nullable().openapi({ description: 'A stable code for that failure, e.g. `corrupt_file` or `too_much_text`.' }),
    progress: ProgressSchema.nullable().openapi({ description: 'While processing: how far it has got; null otherwise.' }),
    mime_type: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
    page_count: z.number().int().nullable().openapi({ description: 'Pages, for paged formats (PDF), once extracted.' }),
    chunk_count: z.number().int(),
    created_at: z.string(),
    updated_at: z.string(),
    processed_at: z.string().nullable(),
  })
  .openapi('Document');

export const DocumentWithUrlSchema = DocumentSchema.extend({
  download_url: z.string().openapi({ description: 'Signed URL to download the file.' }),
  download_url_expires_in: z.number().int().openapi({ description: 'Seconds the download URL stays valid.', example: 60 }),
}).openapi('DocumentWithDownloadUrl');

export const DocumentListSchema = z
  .object({
    items: z.array(DocumentSchema),
    next_cursor: z.string().nullable().openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
    page: z.number().int().optional().openapi({ description: 'With `page`: the page returned.' }),
    total: z.number().int().optional().openapi({ description: 'With `page`: how many documents there are.' }),
  })
  .openapi('DocumentList');

const ReprocessAcceptedSchema = z
  .object({ id: z.uuid(), status: z.literal('queued'), message: z.literal('Document processing has started again.') })
  .openapi('ReprocessAccepted');

const ListQuerySchema = z
  .object({
    limit: intQueryParam('limit', 1, 100).optional().openapi({ description: 'Page size, 1–100 (default 20).', example: '20' }),
    cursor: z.string().max(200).optional().openapi({ description: '`next_cursor` of the previous page.' }),
    page: intQueryParam('page', 1, 100_000).optional().openapi({ description: 'Page number from 1 (instead of a cursor).' }),
  })
  .refine((query) => query.cursor === undefined || query.page === undefined, {
    message: 'use either cursor or page, not both',
    path: ['page'],
  });

/**
 * The `documents` function: the caller's documents, newest first (`GET /documents`), one with a signed download
 * URL (`GET /documents/{id}`), deleting one (`DELETE /documents/{id}`: the Storage object is removed as the
 * caller, and the triggers remove its row, chunks and jobs in the same transaction), and queueing one again
 * (`POST /documents/{id}/reprocess`). Another user's document is answered 404, exactly like a missing one.
 */
export function createApp(deps: DocumentsDeps) {
  const app = createFunctionApp({
    name: 'documents',
    description: "List, download, delete and reprocess the caller's documents.",
    logger: deps.logger,
  });
  const expiresIn = deps.downloadUrlExpiresIn ?? 60;

  const list = userRoute(deps, {
    method: 'get',
    path: '/',
    summary: "The caller's documents, newest first",
    request: { query: ListQuerySchema },
    responses: {
      200: { description: 'One page of documents', content: { 'application/json': { schema: DocumentListSchema } } },
      400: documentedError('validation_failed or invalid_cursor'),
    },
  });
  app.openapi(list, async (c) => {
    const { limit = 20, cursor, page } = c.req.valid('query');
    let query = c.var.supabase
      .from('documents')
      .select(COLUMNS, page !== undefined ? { count: 'exact' } : undefined)
      .order('created_at', { ascending: false })
      .order('id', { ascending: false });
    if (page !== undefined) {
      query = query.range((page - 1) * limit, page * limit - 1);
    } else {
      if (cursor !== undefined) {
        const after = decodeCursor(cursor);
        query = query.or(`created_at.lt."${after.createdAt}",and(created_at.eq."${after.createdAt}",id.lt.${after.id})`);
      }
      // One more than asked tells whether there is a next page.
      query = query.limit(limit + 1);
    }
    const result = await query;
    const rows = unwrap(result) ?? [];
    const items = rows.slice(0, limit).map(toDocument);
    const last = items[items.length - 1];
    const total = result.count ?? 0;
    const hasMore = page !== undefined ? page * limit < total : rows.length > limit;
    const next_cursor = hasMore && last ? encodeCursor(last.created_at, last.id) : null;
    return c.json(page !== undefined ? { items, next_cursor, page, total } : { items, next_cursor }, 200);
  });

  const get = userRoute(deps, {
    method: 'get',
    path: '/{id}',
    summary: 'One document, with a short-lived download URL',
    request: { params: IdParamsSchema },
    responses: {
      200: { description: 'The document', content: { 'application/json': { schema: DocumentWithUrlSchema } } },
      400: documentedError('validation_failed: id is not a UUID'),
      404: documentedError('document_not_found'),
    },
  });
  app.openapi(get, async (c) => {
    const { id } = c.req.valid('param');
    const row = await findDocument(c.var.supabase, id);
    const { data, error } = await c.var.supabase.storage.from(DOCUMENTS_BUCKET).createSignedUrl(row.storage_path, expiresIn);
    if (error) {
      // Row and object go together (triggers), so a missing object means it was deleted a moment ago.
      if (storageErrorStatus(error) === 404) throw notFound(id);
      throw new ApiError(500, 'internal_error', 'A download URL could not be created.', { cause: error });
    }
    return c.json({ ...toDocument(row), download_url: data.signedUrl, download_url_expires_in: expiresIn }, 200);
  });

  const remove = userRoute(deps, {
    method: 'delete',
    path: '/{id}',
    summary: 'Delete a document: its file, row, chunks and queued work',
    request: { params: IdParamsSchema },
    responses: {
      204: { description: 'Deleted' },
      400: documentedError('validation_failed: id is not a UUID'),
      404: documentedError('document_not_found'),
    },
  });
  app.openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    const row = await findDocument(c.var.supabase, id);
    const { data, error } = await c.var.supabase.storage.from(DOCUMENTS_BUCKET).remove([row.storage_path]);
    if (error) throw new ApiError(500, 'internal_error', 'The file could not be deleted.', { cause: error });
    // Storage answers with the objects it removed; none means another request removed it first.
    if (!data || data.length === 0) throw notFound(id);
    return c.body(null, 204);
  });

  const reprocess = userRoute(deps, {
    method: 'post',
    path: '/{id}/reprocess',
    summary: 'Queue a ready or failed document for processing again',
    request: { params: IdParamsSchema },
    responses: {
      202: { description: 'Queued', content: { 'application/json': { schema: ReprocessAcceptedSchema } } },
      400: documentedError('validation_failed: id is not a UUID'),
      404: documentedError('document_not_found'),
      409: documentedError('document_not_reprocessable: the document is queued or processing'),
    },
  });
  app.openapi(reprocess, async (c) => {
    const { id } = c.req.valid('param');
    unwrap(await c.var.supabase.rpc('reprocess_document', { document_id: id }), {
      ...notFoundFor(id),
      P0001: () => new ApiError(409, 'document_not_reprocessable', 'Only ready or failed documents can be reprocessed.'),
    });
    return c.json({ id, status: 'queued' as const, message: 'Document processing has started again.' as const }, 202);
  });

  return app;
}

type DocumentRow = Awaited<ReturnType<typeof findDocument>>;

async function findDocument(client: Client, id: string) {
  const row = unwrap(await client.from('documents').select(COLUMNS).eq('id', id).maybeSingle(), notFoundFor(id));
  if (!row) throw notFound(id);
  return row;
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'document_not_found', `Document ${id} was not found.`);
}

/** Not found, in every form the database says it: no row for `.single()`, or P0002 from a function. */
function notFoundFor(id: string): DatabaseErrorOverrides {
  return { PGRST116: () => notFound(id), P0002: () => notFound(id) };
}

function toDocument(row: DocumentRow): z.infer<typeof DocumentSchema> {
  const { storage_path, size_bytes, progress, ...rest } = row;
  return {
    ...rest,
    path: storage_path,
    size_bytes: size_bytes === null ? null : Number(size_bytes),
    progress: progress as z.infer<typeof ProgressSchema> | null,
  };
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;

/** An opaque keyset cursor: base64url of `[created_at, id]` of the last item returned. */
function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const value: unknown = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
    if (Array.isArray(value) && value.length === 2 && CURSOR_TIME.test(String(value[0])) && isUuid(value[1])) {
      return { createdAt: String(value[0]), id: String(value[1]) };
    }
  } catch {
    // reported below
  }
  throw new ApiError(400, 'invalid_cursor', 'cursor is not a next_cursor this endpoint returned.');
}
