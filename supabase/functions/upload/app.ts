import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import type { SupabaseClient } from '@supabase/supabase-js';
import { type AuthVariables, requireUser, type TokenVerifier } from '../_shared/auth.ts';
import { ApiError } from '../_shared/errors.ts';
import { sanitizeFileName } from '../_shared/file-name.ts';
import { checkSignature, type DocumentType, resolveDocumentType, SIGNATURE_BYTES, Utf8Checker } from '../_shared/file-type.ts';
import { type BaseVariables, createApp as createFunctionApp } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { isMultipartFormData, MultipartError, MultipartForm } from '../_shared/multipart.ts';
import { drainUnreadBody } from '../_shared/body.ts';
import { currentPlan } from '../_shared/plans.ts';
import { storageErrorStatus } from '../_shared/storage-errors.ts';
import { errorResponse } from '../_shared/openapi.ts';

/** What the upload app needs; clients are built per request from the caller's token, so RLS decides. */
export interface UploadDeps {
  verifyToken: TokenVerifier;
  /** A supabase-js client acting as the caller (never the service role). */
  userClient: (accessToken: string) => SupabaseClient;
  /** Bucket `documents`' `file_size_limit` in bytes (migration and config.toml); default 50 MiB. */
  bucketMaxBytes?: number;
  logger?: Logger;
}

interface UploadEnv {
  Variables: BaseVariables & AuthVariables;
}

/** The bucket documents live in (created by migration `create_document_ingestion`). */
export const DOCUMENTS_BUCKET = 'documents';
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

const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

const UploadQuerySchema = z.object({
  chat_id: z.uuid().optional().openapi({ description: 'A chat of the caller to attach the document to.' }),
});

/**
 * The `upload` function: `POST /upload` streams a multipart file into bucket `documents` as the caller and
 * answers 202 with the `documents` row the Storage trigger created (and queued for processing);
 * `POST /upload/sign` hands out a signed upload URL for sending large files straight to Storage;
 * `GET /upload/healthz`; `GET /upload/openapi.json`.
 */
export function createApp(deps: UploadDeps): OpenAPIHono<UploadEnv> {
  const app = createFunctionApp<UploadEnv>({ basePath: '/upload', logger: deps.logger });
  const auth = requireUser(deps.verifyToken);
  const bucketMaxBytes = deps.bucketMaxBytes ?? DEFAULT_BUCKET_MAX_BYTES;
  const drain = drainUnreadBody(bucketMaxBytes + MULTIPART_OVERHEAD_BYTES);

  const healthRoute = createRoute({
    method: 'get',
    path: '/healthz',
    summary: 'Liveness; touches neither Auth nor Storage',
    responses: { 200: { description: 'The function is up', content: { 'application/json': { schema: HealthSchema } } } },
  });

  const uploadRoute = createRoute({
    method: 'post',
    path: '/',
    summary: 'Upload a document (streamed to Storage as the caller) and queue it for processing',
    security: [{ bearer: [] }],
    middleware: [drain, auth] as const,
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
      400: errorResponse('invalid_content_type, malformed_multipart, missing_file, empty_file, invalid_file_name or validation_failed'),
      401: errorResponse('Missing or invalid access token'),
      404: errorResponse('chat_not_found: chat_id is not one of your chats'),
      409: errorResponse('file_exists: a file with this name is already stored'),
      413: errorResponse("file_too_large: over your plan's upload limit or the bucket's"),
      415: errorResponse('unsupported_file_type, or file_content_mismatch when the content is not what the name says'),
    },
  });

  const signRoute = createRoute({
    method: 'post',
    path: '/sign',
    summary: 'Get a signed upload URL to send a large file straight to Storage',
    security: [{ bearer: [] }],
    middleware: [auth] as const,
    request: { body: { required: true, content: { 'application/json': { schema: SignRequestSchema } } } },
    responses: {
      200: { description: 'Where and how to upload', content: { 'application/json': { schema: SignedUploadSchema } } },
      400: errorResponse('validation_failed or invalid_file_name'),
      401: errorResponse('Missing or invalid access token'),
      409: errorResponse('file_exists'),
      415: errorResponse('unsupported_file_type'),
    },
  });

  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const }, 200));

  app.openapi(uploadRoute, async (c) => {
    const { chat_id: chatId } = c.req.valid('query');
    const userId = c.var.user.id;
    const client = deps.userClient(c.var.accessToken);
    if (!isMultipartFormData(c.req.header('content-type'))) {
      throw new ApiError(400, 'invalid_content_type', INVALID_CONTENT_TYPE);
    }
    if (chatId) await mustOwnChat(client, chatId);
    const plan = await currentPlan(client);
    const limit =
      plan.maxUploadBytes < bucketMaxBytes
        ? { bytes: plan.maxUploadBytes, message: `The file exceeds the ${formatBytes(plan.maxUploadBytes)} upload limit of the ${plan.name} plan.` }
        : { bytes: bucketMaxBytes, message: `The file exceeds the ${formatBytes(bucketMaxBytes)} limit of bucket ${DOCUMENTS_BUCKET}.` };
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
      const path = `${userId}/${name}`;
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
      if (error) throw source.failure ?? fromStorageError(error, name, limit.message);
      await form.finished();

      const row = await client.from('documents').select('id').eq('bucket_id', DOCUMENTS_BUCKET).eq('storage_path', path).single();
      if (row.error) {
        // Keep "nothing half-written": take the object (and with it row and job) back out.
        await client.storage.from(DOCUMENTS_BUCKET).remove([path]);
        throw new ApiError(500, 'internal_error', 'The document row could not be read after the upload.', { cause: row.error });
      }
      return c.json({ id: row.data.id as string, path, status: 'queued' as const, message: 'File processing has started.' as const }, 202);
    } catch (error) {
      // Read the rest of the request before answering (see MultipartForm), dropping it.
      await source?.cancel();
      form.discard();
      await form.finished();
      throw error;
    }
  });

  app.openapi(signRoute, async (c) => {
    const { name: rawName } = c.req.valid('json');
    const client = deps.userClient(c.var.accessToken);
    const name = sanitizeFileName(rawName);
    if (!name) throw new ApiError(400, 'invalid_file_name', 'The file name is empty or has no usable characters.');
    const type = mustBeAccepted(name, undefined);
    const path = `${c.var.user.id}/${name}`;
    await mustNotExist(client, path, name);
    const { data, error } = await client.storage.from(DOCUMENTS_BUCKET).createSignedUploadUrl(path);
    if (error) throw fromStorageError(error, name, '');
    return c.json({ path, token: data.token, signed_url: data.signedUrl, content_type: type.mimeType }, 200);
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.doc('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'edgebrain upload', version: '1.0.0', description: 'Upload documents into bucket documents.' },
  });
  return app;
}

/**
 * The file part's bytes on their way to Storage: counted against the limit, checked as UTF-8 text when the type
 * is text, with the first bytes available for sniffing before anything is sent. A failed check errors the stream,
 * which aborts the Storage request before its end, so Storage stores nothing; `failure` says why.
 */
class UploadSource {
  readonly stream: ReadableStream<Uint8Array>;
  failure?: ApiError;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly buffered: Uint8Array[] = [];
  private text?: { checker: Utf8Checker; error: () => ApiError };
  private received = 0;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly limit: { bytes: number; message: string },
  ) {
    this.reader = body.getReader();
    // highWaterMark 0: nothing is pulled before Storage reads, so `peek` sees the first bytes.
    this.stream = new ReadableStream<Uint8Array>(
      { pull: (controller) => this.pull(controller), cancel: () => this.cancel() },
      { highWaterMark: 0 },
    );
  }

  /** Reads until `bytes` bytes (or the end) are buffered and returns them; they are still sent. */
  async peek(bytes: number): Promise<Uint8Array> {
    let length = this.buffered.reduce((sum, chunk) => sum + chunk.length, 0);
    while (length < bytes) {
      const chunk = await this.read();
      if (!chunk) break;
      this.buffered.push(chunk);
      length += chunk.length;
    }
    const head = new Uint8Array(Math.min(length, bytes));
    let offset = 0;
    for (const chunk of this.buffered) {
      if (offset >= head.length) break;
      head.set(chunk.subarray(0, head.length - offset), offset);
      offset += Math.min(chunk.length, head.length - offset);
    }
    return head;
  }

  /** Requires the content to be UTF-8 text (checked as it streams). */
  checkText(enabled: boolean, error: () => ApiError): void {
    if (enabled) this.text = { checker: new Utf8Checker(), error };
  }

  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }

  private async read(): Promise<Uint8Array | undefined> {
    let result: ReadableStreamReadResult<Uint8Array>;
    try {
      result = await this.reader.read();
    } catch (error) {
      throw fromMultipartError(error);
    }
    if (result.done) return undefined;
    this.received += result.value.length;
    if (this.received > this.limit.bytes) throw new ApiError(413, 'file_too_large', this.limit.message);
    return result.value;
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    try {
      const chunk = this.buffered.shift() ?? (await this.read());
      if (chunk && this.text && !this.text.checker.push(chunk)) throw this.text.error();
      if (chunk) {
        controller.enqueue(chunk);
        return;
      }
      if (this.text && !this.text.checker.end()) throw this.text.error();
      controller.close();
    } catch (error) {
      this.failure = error instanceof ApiError ? error : fromMultipartError(error);
      controller.error(this.failure);
      await this.cancel();
    }
  }
}

function mustBeAccepted(name: string, declaredMimeType: string | undefined): DocumentType {
  const type = resolveDocumentType(name, declaredMimeType);
  if (!type) {
    throw new ApiError(415, 'unsupported_file_type', 'Only .txt, .md, .csv, .html, .json, .pdf and .docx files can be uploaded.');
  }
  return type;
}

function contentMismatch(type: DocumentType): ApiError {
  const what = type.kind === 'pdf' ? 'a PDF document' : type.kind === 'docx' ? 'a DOCX document' : 'UTF-8 text';
  return new ApiError(415, 'file_content_mismatch', `The file's content is not ${what}, as its name or type says.`);
}

async function mustOwnChat(client: SupabaseClient, chatId: string): Promise<void> {
  const { data, error } = await client.from('chats').select('id').eq('id', chatId).maybeSingle();
  if (error) throw new ApiError(500, 'internal_error', 'The chat could not be read.', { cause: error });
  if (!data) throw new ApiError(404, 'chat_not_found', `Chat ${chatId} was not found.`);
}

async function mustNotExist(client: SupabaseClient, path: string, name: string): Promise<void> {
  const { data, error } = await client.from('documents').select('id').eq('bucket_id', DOCUMENTS_BUCKET).eq('storage_path', path).maybeSingle();
  if (error) throw new ApiError(500, 'internal_error', 'Existing documents could not be read.', { cause: error });
  if (data) throw fileExists(name);
}

function fileExists(name: string): ApiError {
  return new ApiError(409, 'file_exists', `File ${name} already exists in storage.`);
}

const INVALID_CONTENT_TYPE = 'The request body must be multipart/form-data with a file field named "file".';

function openForm(request: Request, maxBodyBytes: number): MultipartForm {
  try {
    return new MultipartForm(request, { maxBodyBytes });
  } catch (error) {
    throw fromMultipartError(error);
  }
}

function fromMultipartError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof MultipartError) {
    if (error.code === 'body_too_large') return new ApiError(413, 'file_too_large', 'The request body is too large.', { cause: error });
    const message = error.code === 'invalid_content_type' ? INVALID_CONTENT_TYPE : error.message;
    return new ApiError(400, error.code, message, { cause: error });
  }
  return new ApiError(400, 'malformed_multipart', 'The multipart/form-data body is malformed or incomplete.', { cause: error });
}

/** Storage's answers by the status in its error body (never by message text). */
function fromStorageError(error: unknown, name: string, tooLargeMessage: string): ApiError {
  switch (storageErrorStatus(error)) {
    case 409:
      return fileExists(name);
    case 413:
      return new ApiError(413, 'file_too_large', tooLargeMessage || 'The file is too large.');
    case 415:
      return new ApiError(415, 'unsupported_file_type', 'Only .txt, .md, .csv, .html, .json, .pdf and .docx files can be uploaded.');
    case 403:
      return new ApiError(403, 'forbidden', 'Storage refused to store the file for this user.', { cause: error });
    default:
      return new ApiError(500, 'internal_error', 'Storage failed to store the file.', { cause: error });
  }
}

/** `10485760` → `10 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1024 === 0) {
    value /= 1024;
    unit += 1;
  }
  return `${value} ${units[unit]}`;
}
