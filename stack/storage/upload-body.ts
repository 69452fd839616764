import { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import busboy from 'busboy';
import { ERRORS, StorageError } from './errors.ts';
import { isEmptyFolderPlaceholder, mustBeAllowedMimeType } from './limits.ts';
import { mustNotContainNul } from './validate.ts';

/** An upload's bytes (not yet read) and what the request says about them. */
export interface UploadSource {
  stream: Readable;
  mimeType: string;
  cacheControl: string;
  userMetadata: Record<string, unknown> | undefined;
  /** Content-Length of a raw body (what RLS sees as `metadata.contentLength` in the permission test). */
  declaredLength: number | undefined;
  maxFileSize: number;
  /** Stops reading the request body (after a refusal). */
  abandon(): void;
  /**
   * Once the file's bytes are read: takes in form fields sent after the file (storage-js appends `metadata` after
   * the file when given a FormData), updating `userMetadata` and `cacheControl`. Refuses metadata over 1 MiB or
   * holding U+0000.
   */
  settle(): Promise<void>;
}

/** Limits of the bucket the upload goes to. */
export interface UploadLimits {
  key: string;
  maxFileSize: number;
  allowedMimeTypes: string[] | null;
}

const MAX_USER_METADATA_BYTES = 1024 * 1024;

function bodyStream(request: Request): Readable {
  if (!request.body) return Readable.from([]);
  return Readable.fromWeb(request.body as unknown as NodeReadableStream<Uint8Array>);
}

/** User metadata as upstream reads it: a JSON object, anything unparseable ignored; U+0000 refused. */
function parseJsonObject(text: string, where: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  mustNotContainNul(value, where);
  return value as Record<string, unknown>;
}

/** The multipart fields that become object metadata, checked as they would be stored. */
function fieldMetadata(fields: Record<string, string>): { userMetadata: Record<string, unknown> | undefined; cacheControl: string } {
  mustNotContainNul({ cacheControl: fields.cacheControl, contentType: fields.contentType }, 'body');
  const metadataText = fields.metadata ?? fields.userMetadata;
  if (metadataText !== undefined && Buffer.byteLength(metadataText, 'utf8') > MAX_USER_METADATA_BYTES) {
    throw ERRORS.entityTooLarge('user_metadata');
  }
  return {
    userMetadata: metadataText === undefined ? undefined : parseJsonObject(metadataText, 'metadata'),
    cacheControl: fields.cacheControl ? `max-age=${fields.cacheControl}` : 'no-cache',
  };
}

/**
 * Reads an upload request up to the start of the file bytes, as the Storage API does: a `multipart/form-data`
 * body (fields `cacheControl`, `metadata`/`userMetadata`, `contentType`, then the file — storage-js sends it
 * under the empty field name) parsed by busboy, or any other body taken as the raw bytes with `content-type`,
 * `cache-control` and base64 JSON `x-metadata` headers. The MIME type is checked against the bucket here, before
 * any byte is stored; the size is enforced while streaming ({@link BlobStore.receive}).
 */
export async function readUpload(request: Request, limits: UploadLimits): Promise<UploadSource> {
  const placeholder = isEmptyFolderPlaceholder(limits.key);
  const maxFileSize = placeholder ? 0 : limits.maxFileSize;
  const contentType = request.headers.get('content-type') ?? '';

  if (!contentType.toLowerCase().startsWith('multipart/form-data')) {
    const mimeType = contentType || 'application/octet-stream';
    if (!placeholder) mustBeAllowedMimeType(mimeType, limits.allowedMimeTypes);
    const lengthHeader = request.headers.get('content-length');
    const declaredLength = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    if (declaredLength !== undefined && declaredLength > maxFileSize) throw ERRORS.entityTooLarge();
    const userMetadata = parseMetadataHeader(request.headers.get('x-metadata'));
    const stream = bodyStream(request);
    return {
      stream,
      mimeType,
      cacheControl: request.headers.get('cache-control') ?? 'no-cache',
      userMetadata,
      declaredLength,
      maxFileSize,
      abandon: () => stream.destroy(),
      settle: async () => {},
    };
  }

  const body = bodyStream(request);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      // One byte over the limit is enough for the meter to notice; busboy never buffers a whole file.
      limits: { fields: 10, files: 1, fileSize: maxFileSize + 1 },
    });
  } catch {
    body.destroy();
    throw ERRORS.noContent();
  }
  const fields: Record<string, string> = {};
  let markParsed: () => void = () => {};
  const parsed = new Promise<void>((resolve) => {
    markParsed = resolve;
  });
  return new Promise<UploadSource>((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      body.destroy();
      reject(error instanceof StorageError ? error : ERRORS.noContent());
    };
    parser.on('field', (name, value) => {
      fields[name] = value;
    });
    parser.on('file', (_name, file, info) => {
      // A refused file is destroyed with the body ("Premature close"); nobody else listens for that.
      const ignoreErrors = () => file.on('error', () => {});
      if (settled) {
        ignoreErrors();
        file.resume();
        return;
      }
      try {
        const mimeType = fields.contentType || info.mimeType || 'application/octet-stream';
        if (!placeholder) mustBeAllowedMimeType(mimeType, limits.allowedMimeTypes);
        const metadata = fieldMetadata(fields);
        settled = true;
        const source: UploadSource = {
          stream: file,
          mimeType,
          ...metadata,
          declaredLength: undefined,
          maxFileSize,
          abandon: () => {
            body.destroy();
            file.destroy();
          },
          settle: async () => {
            await parsed;
            Object.assign(source, fieldMetadata(fields));
          },
        };
        resolve(source);
      } catch (error) {
        ignoreErrors();
        file.resume();
        fail(error);
      }
    });
    parser.on('close', () => {
      markParsed();
      fail(ERRORS.noContent());
    });
    // A broken or aborted body destroys the parser, which destroys the file stream with the same error.
    pipeline(body, parser, (error) => {
      markParsed();
      if (error) fail(error);
    });
  });
}

/** storage-js's `x-metadata` header: base64 of a JSON object. */
export function parseMetadataHeader(header: string | null): Record<string, unknown> | undefined {
  return header ? parseJsonObject(Buffer.from(header, 'base64').toString('utf8'), 'x-metadata') : undefined;
}
