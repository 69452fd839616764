import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { PostgrestError, SupabaseClient } from '@supabase/supabase-js';
import { type AuthVariables, requireUser, type TokenVerifier } from '../_shared/auth.ts';
import { ApiError } from '../_shared/errors.ts';
import { type BaseVariables, createApp as createFunctionApp } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { storageErrorStatus } from '../_shared/storage-errors.ts';
import { errorResponse, intQueryParam } from '../_shared/openapi.ts';

/** What the documents app needs; every read and write goes through a client acting as the caller (RLS). */
export interface DocumentsDeps {
  verifyToken: TokenVerifier;
  userClient: (accessToken: string) => SupabaseClient;
  /** Lifetime of download URLs in seconds; default 60. */
  downloadUrlExpiresIn?: number;
  logger?: Logger;
}

interface DocumentsEnv {
  Variables: BaseVariables & AuthVariables;
}

const BUCKET = 'documents';
const COLUMNS = 'id, name, storage_path, chat_id, status, error, mime_type, size_bytes, chunk_count, created_at, updated_at, processed_at';

export const DocumentSchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ description: 'File name as stored (sanitised).', example: 'report.pdf' }),
    path: z.string().openapi({ description: 'Object name in bucket `documents`: `{user_id}/{name}`.' }),
    chat_id: z.uuid().nullable(),
    status: z.enum(['queued', 'processing', 'ready', 'failed']),
    error: z.string().nullable().openapi({ description: 'Why processing failed, when status is failed.' }),
    mime_type: z.string().nullable(),
    size_bytes: z.number().int().nullable(),
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

const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

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

const IdParamsSchema = z.object({ id: z.uuid('id must be a UUID').openapi({ param: { name: 'id', in: 'path' } }) });

/** A `public.documents` row as selected with {@link COLUMNS}. */
interface DocumentRow {
  id: string;
  name: string;
  storage_path: string;
  chat_id: string | null;
  status: 'queued' | 'processing' | 'ready' | 'failed';
  error: string | null;
  mime_type: string | null;
  size_bytes: number | string | null;
  chunk_count: number;
  created_at: string;
  updated_at: string;
  processed_at: string | null;
}

/**
 * The `documents` function: the caller's documents, newest first (`GET /documents`), one with a signed download
 * URL (`GET /documents/{id}`), deleting one (`DELETE /documents/{id}`: the Storage object is removed as the
 * caller, and the triggers remove its row, chunks and jobs in the same transaction), and queueing one again
 * (`POST /documents/{id}/reprocess`). Another user's document is answered 404, exactly like a missing one.
 */
export function createApp(deps: DocumentsDeps): OpenAPIHono<DocumentsEnv> {
  const app = createFunctionApp<DocumentsEnv>({ basePath: '/documents', logger: deps.logger });
  const auth = requireUser(deps.verifyToken);
  const expiresIn = deps.downloadUrlExpiresIn ?? 60;

  const healthRoute = createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness; touches neither Auth nor the database',
    responses: { 200: { description: 'The function is up', content: { 'application/json': { schema: HealthSchema } } } },
  });
  const listRoute = createRoute({
    method: 'get',
    path: '/',
    summary: "The caller's documents, newest first",
    security: [{ bearer: [] }],
    middleware: [auth] as const,
    request: { query: ListQuerySchema },
    responses: {
      200: { description: 'One page of documents', content: { 'application/json': { schema: DocumentListSchema } } },
      400: errorResponse('validation_failed or invalid_cursor'),
      401: errorResponse('Missing or invalid access token'),
    },
  });
  const getRoute = createRoute({
    method: 'get',
    path: '/{id}',
    summary: 'One document, with a short-lived download URL',
    security: [{ bearer: [] }],
    middleware: [auth] as const,
    request: { params: IdParamsSchema },
    responses: {
      200: { description: 'The document', content: { 'application/json': { schema: DocumentWithUrlSchema } } },
      400: errorResponse('validation_failed: id is not a UUID'),
      401: errorResponse('Missing or invalid access token'),
      404: errorResponse('document_not_found'),
    },
  });
  const deleteRoute = createRoute({
    method: 'delete',
    path: '/{id}',
    summary: 'Delete a document: its file, row, chunks and jobs',
    security: [{ bearer: [] }],
    middleware: [auth] as const,
    request: { params: IdParamsSchema },
    responses: {
      204: { description: 'Deleted' },
      400: errorResponse('validation_failed: id is not a UUID'),
      401: errorResponse('Missing or invalid access token'),
      404: errorResponse('document_not_found'),
    },
  });
  const reprocessRoute = createRoute({
    method: 'post',
    path: '/{id}/reprocess',
    summary: 'Queue a ready or failed document for processing again',
    security: [{ bearer: [] }],
    middleware: [auth] as const,
    request: { params: IdParamsSchema },
    responses: {
      202: { description: 'Queued', content: { 'application/json': { schema: ReprocessAcceptedSchema } } },
      400: errorResponse('validation_failed: id is not a UUID'),
      401: errorResponse('Missing or invalid access token'),
      404: errorResponse('document_not_found'),
      409: errorResponse('document_not_reprocessable: the document is queued or processing'),
    },
  });

  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));
  // Before the `/{id}` routes, which would otherwise take "openapi.json" for an id. Built per request from the
  // registry, so it lists the routes registered below too.
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.doc('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'edgebrain documents', version: '1.0.0', description: "List, download, delete and reprocess the caller's documents." },
  });

  app.openapi(listRoute, async (c) => {
    const { limit = 20, cursor, page } = c.req.valid('query');
    const client = deps.userClient(c.var.accessToken);
    let query = client
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
    const { data, error, count } = await query;
    if (error) throw fromPostgrestError(error);
    const rows = (data ?? []) as unknown as DocumentRow[];
    const items = rows.slice(0, limit).map(toDocument);
    const last = items[items.length - 1];
    const hasMore = page !== undefined ? page * limit < (count ?? 0) : rows.length > limit;
    const next_cursor = hasMore && last ? encodeCursor(last.created_at, last.id) : null;
    return c.json(page !== undefined ? { items, next_cursor, page, total: count ?? 0 } : { items, next_cursor }, 200);
  });

  app.openapi(getRoute, async (c) => {
    const { id } = c.req.valid('param');
    const client = deps.userClient(c.var.accessToken);
    const row = await findDocument(client, id);
    const { data, error } = await client.storage.from(BUCKET).createSignedUrl(row.storage_path, expiresIn);
    if (error) {
      // Row and object go together (triggers), so a missing object means it was deleted a moment ago.
      if (storageErrorStatus(error) === 404) throw notFound(id);
      throw new ApiError(500, 'internal_error', 'A download URL could not be created.', { cause: error });
    }
    return c.json({ ...toDocument(row), download_url: data.signedUrl, download_url_expires_in: expiresIn }, 200);
  });

  app.openapi(deleteRoute, async (c) => {
    const { id } = c.req.valid('param');
    const client = deps.userClient(c.var.accessToken);
    const row = await findDocument(client, id);
    const { data, error } = await client.storage.from(BUCKET).remove([row.storage_path]);
    if (error) throw new ApiError(500, 'internal_error', 'The file could not be deleted.', { cause: error });
    // Storage answers with the objects it removed; none means another request removed it first.
    if (!data || data.length === 0) throw notFound(id);
    return c.body(null, 204);
  });

  app.openapi(reprocessRoute, async (c) => {
    const { id } = c.req.valid('param');
    const client = deps.userClient(c.var.accessToken);
    const { error } = await client.rpc('reprocess_document', { document_id: id });
    if (error) {
      if (error.code === 'P0002') throw notFound(id);
      if (error.code === 'P0001') {
        throw new ApiError(409, 'document_not_reprocessable', 'Only ready or failed documents can be reprocessed.');
      }
      throw fromPostgrestError(error);
    }
    return c.json({ id, status: 'queued' as const, message: 'Document processing has started again.' as const }, 202);
  });

  return app;
}

async function findDocument(client: SupabaseClient, id: string): Promise<DocumentRow> {
  const { data, error } = await client.from('documents').select(COLUMNS).eq('id', id).maybeSingle();
  if (error) throw fromPostgrestError(error);
  if (!data) throw notFound(id);
  return data as unknown as DocumentRow;
}

function notFound(id: string): ApiError {
  return new ApiError(404, 'document_not_found', `Document ${id} was not found.`);
}

function toDocument(row: DocumentRow): z.infer<typeof DocumentSchema> {
  return {
    id: row.id,
    name: row.name,
    path: row.storage_path,
    chat_id: row.chat_id,
    status: row.status,
    error: row.error,
    mime_type: row.mime_type,
    size_bytes: row.size_bytes === null ? null : Number(row.size_bytes),
    chunk_count: row.chunk_count,
    created_at: row.created_at,
    updated_at: row.updated_at,
    processed_at: row.processed_at,
  };
}

const CURSOR_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An opaque keyset cursor: base64url of `[created_at, id]` of the last item returned. */
function encodeCursor(createdAt: string, id: string): string {
  return btoa(JSON.stringify([createdAt, id])).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const value: unknown = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
    if (Array.isArray(value) && value.length === 2 && CURSOR_TIME.test(String(value[0])) && UUID.test(String(value[1]))) {
      return { createdAt: String(value[0]), id: String(value[1]) };
    }
  } catch {
    // reported below
  }
  throw new ApiError(400, 'invalid_cursor', 'cursor is not a next_cursor this endpoint returned.');
}

/** PostgREST errors by SQLSTATE / PGRST code (never by message text). */
function fromPostgrestError(error: PostgrestError): ApiError {
  switch (error.code) {
    case 'PGRST116':
      return new ApiError(404, 'document_not_found', 'The document was not found.');
    case '22P02':
      return new ApiError(400, 'validation_failed', 'The request is invalid.');
    case '42501':
      return new ApiError(403, 'forbidden', 'You may not do this.');
    default:
      return new ApiError(500, 'internal_error', 'The documents could not be read.', { cause: error });
  }
}
