import { z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import { drainUnreadBody } from '../_shared/body.ts';
import { DOCUMENTS_BUCKET } from '../_shared/buckets.ts';
import { ApiError } from '../_shared/errors.ts';
import { sanitizeFileName } from '../_shared/file-name.ts';
import { checkSignature, SIGNATURE_BYTES } from '../_shared/file-type.ts';
import type { Logger } from '../_shared/log.ts';
import { isMultipartFormData } from '../_shared/multipart.ts';
import { documentedError } from '../_shared/openapi.ts';
import { currentPlan } from '../_shared/plans.ts';
import { type UserRouteDeps, userRoute } from '../_shared/routes.ts';
import { contentMismatch, fromStorageError, mustBeAccepted, mustHaveRoom, mustNotExist, mustOwnChat, uploadLimit } from './checks.ts';
import { storageErrorStatus } from '../_shared/storage-errors.ts';
import { fromMultipartError, INVALID_CONTENT_TYPE, openForm, UploadSource } from './source.ts';

/** What the upload app needs; clients are built per request from the caller's token, so RLS decides. */
export interface UploadDeps extends UserRouteDeps {
  /** Bucket `documents`' `file_size_limit` in bytes (migration and config.toml); default 50 MiB. */
  bucketMaxBytes?: number;
  logger?: Logger;
}

const DEFAULT_BUCKET_MAX_BYTES = 50 * 1024 * 1024;
/** Room for the multipart framing around the file when judging a request by its Content-Length. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

export const UploadAcceptedSchema = z
  .object({
    id: z.uuid().openapi({ description: 'The `documents` row created for the file.' }),
    path: z.string().openapi({ description: 'Object name in bucket `documents`: `{user_id}/{file name}`.' }),
    status: z.literal('queued'),
    message: z.literal('File processing has started.'),
  })
  .openapi('UploadAccepted');

export const SignRequestSchema = z
  .object({ name: z.string().min(1).max(1024).openapi({ description: 'The file name; it is sanitised.', example: 'report.pdf' }) })
  .openapi('SignUploadRequest');

export const SignedUploadSchema = z
  .object({
    path: z.string().openapi({ description: 'Object name to upload to: `{user_id}/{sanitised name}`.' }),
    token: z.string().openapi({ description: 'For `supabase.storage.from("documents").uploadToSignedUrl(path, token, file)`.' }),
    signed_url: z.string().openapi({ description: 'The signed upload URL (PUT), valid for two hours.' }),
    content_type: z.string().openapi({ description: 'The MIME type to send the file with.', example: 'application/pdf' }),
  })
  .openapi('SignedUpload');

const UploadQuerySchema = z.object({
  chat_id: z.uuid().optional().openapi({ description: 'A chat of the caller to attach the document to.' }),
});

/**
 * The `upload` function: `POST /upload` streams a multipart file into bucket `documents` as the caller and
 * answers 202 with the `documents` row the Storage trigger created (and queued for processing);
 * `POST /upload/sign` hands out a signed upload URL for sending large files straight to Storage;
 * `GET /upload/healthz`; `GET /upload/openapi.json`.
 */
export function createApp(deps: UploadDeps) {
  const app = createFunctionApp({ name: 'upload', description: 'Upload documents into bucket documents.', logger: deps.logger });
  const bucketMaxBytes = deps.bucketMaxBytes ?? DEFAULT_BUCKET_MAX_BYTES;

  const upload = userRoute(deps, {
    method: 'post',
    path: '/',
    summary: 'Upload a document (streamed to Storage as the caller) and queue it for processing',
    // Drain first, so that answers decided before the body was read (a 401 too) wait for the whole request.
    middleware: [drainUnreadBody(bucketMaxBytes + MULTIPART_OVERHEAD_BYTES)],
    request: {
      query: UploadQuerySchema,
      body: {
        required: true,
        description: 'One file in the field `file`: txt, md, csv, html, json (UTF-8 text), pdf or docx.',
        // A plain OpenAPI schema, not zod: a zod form schema would make the validator buffer the whole body.
        content: {
          'multipart/form-data': {
            schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
          },
        },
      },
    },
    responses: {
      202: { description: 'Stored; processing has started', content: { 'application/json': { schema: UploadAcceptedSchema } } },
      400: documentedError('invalid_content_type, malformed_multipart, missing_file, empty_file, invalid_file_name or validation_failed'),
      404: documentedError('chat_not_found: chat_id is not one of your chats'),
      403: documentedError('document_limit_reached: your plan allows no more documents'),
      409: documentedError('file_exists: a file with this name is already stored'),
      413: documentedError("file_too_large: over your plan's upload limit or the bucket's"),
      415: documentedError('unsupported_file_type, or file_content_mismatch when the content is not what the name says'),
    },
  });
  app.openapi(upload, async (c) => {
    const { chat_id: chatId } = c.req.valid('query');
    const client = c.var.supabase;
    if (!isMultipartFormData(c.req.header('content-type'))) {
      throw new ApiError(400, 'invalid_content_type', INVALID_CONTENT_TYPE);
    }
    if (chatId) await mustOwnChat(client, chatId);
    const plan = await currentPlan(client);
    await mustHaveRoom(client, plan);
    const limit = uploadLimit(plan, bucketMaxBytes);
    if (Number(c.req.header('content-length')) > limit.bytes + MULTIPART_OVERHEAD_BYTES) {
      throw new ApiError(413, 'file_too_large', limit.message);
    }

    const form = openForm(c.req.raw, bucketMaxBytes + MULTIPART_OVERHEAD_BYTES);
    let source: UploadSource | undefined;
    try {
      const part = await form.file('file').catch((error: unknown) => {
        throw fromMultipartError(error);
      });
      if (!part) throw new ApiError(400, 'missing_file', 'The form has no file field named "file".');
      source = new UploadSource(part.body, limit);
      const name = sanitizeFileName(part.filename);
      if (!name) throw new ApiError(400, 'invalid_file_name', 'The file name is empty or has no usable characters.');
      const type = mustBeAccepted(name, part.mimeType);
      const path = `${c.var.user.id}/${name}`;
      await mustNotExist(client, path, name);

      const head = await source.peek(SIGNATURE_BYTES);
      if (head.length === 0) throw new ApiError(400, 'empty_file', 'The file is empty.');
      if (!checkSignature(head, type.kind)) throw contentMismatch(type);
      source.checkText(type.kind === 'text', () => contentMismatch(type));

      const { error } = await client.storage.from(DOCUMENTS_BUCKET).upload(path, source.stream, {
        contentType: type.mimeType,
        upsert: false,
        duplex: 'half',
        metadata: chatId ? { chat_id: chatId } : undefined,
      });
      if (error) {
        // Another upload may have taken the last document slot since the check above: the database refused it.
        if (!source.failure && storageErrorStatus(error) === 403) await mustHaveRoom(client, plan);
        throw source.failure ?? fromStorageError(error, name, limit.message);
      }
      await form.finished();

      const row = await client.from('documents').select('id').eq('bucket_id', DOCUMENTS_BUCKET).eq('storage_path', path).single();
      if (row.error) {
        // Keep "nothing half-written": take the object (and with it row and queued work) back out.
        await client.storage.from(DOCUMENTS_BUCKET).remove([path]);
        throw new ApiError(500, 'internal_error', 'The document row could not be read after the upload.', { cause: row.error });
      }
      return c.json({ id: row.data.id, path, status: 'queued' as const, message: 'File processing has started.' as const }, 202);
    } catch (error) {
      // Read the rest of the request before answering (see MultipartForm), dropping it.
      await source?.cancel();
      form.discard();
      await form.finished();
      throw error;
    }
  });

  const sign = userRoute(deps, {
    method: 'post',
    path: '/sign',
    summary: 'Get a signed upload URL to send a large file straight to Storage',
    request: { body: { required: true, content: { 'application/json': { schema: SignRequestSchema } } } },
    responses: {
      200: { description: 'Where and how to upload', content: { 'application/json': { schema: SignedUploadSchema } } },
      400: documentedError('validation_failed or invalid_file_name'),
      403: documentedError('document_limit_reached'),
      409: documentedError('file_exists'),
      415: documentedError('unsupported_file_type'),
    },
  });
  app.openapi(sign, async (c) => {
    const { name: rawName } = c.req.valid('json');
    const client = c.var.supabase;
    const name = sanitizeFileName(rawName);
    if (!name) throw new ApiError(400, 'invalid_file_name', 'The file name is empty or has no usable characters.');
    const type = mustBeAccepted(name, undefined);
    const path = `${c.var.user.id}/${name}`;
    await mustNotExist(client, path, name);
    await mustHaveRoom(client, await currentPlan(client));
    const { data, error } = await client.storage.from(DOCUMENTS_BUCKET).createSignedUploadUrl(path);
    if (error) throw fromStorageError(error, name, '');
    return c.json({ path, token: data.token, signed_url: data.signedUrl, content_type: type.mimeType }, 200);
  });

  return app;
}
