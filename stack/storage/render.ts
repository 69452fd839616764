import type { FileHandle } from 'node:fs/promises';
import { ERRORS } from './errors.ts';
import type { ObjectRow } from './queries.ts';

/** A byte range of an object (inclusive). */
export interface ByteRange {
  from: number;
  to: number;
}

/** Upstream's `parseRangeHeader`: `bytes=a-b`, `bytes=a-`, `bytes=-n`; anything else is HTTP 416. */
export function parseRange(header: string, size: number): ByteRange {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || size <= 0 || (!match[1] && !match[2])) throw ERRORS.invalidRange();
  if (!match[1]) {
    const suffix = Number(match[2]);
    if (!Number.isSafeInteger(suffix) || suffix <= 0) throw ERRORS.invalidRange();
    return { from: Math.max(size - suffix, 0), to: size - 1 };
  }
  const from = Number(match[1]);
  const to = match[2] ? Number(match[2]) : size - 1;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from > to || from >= size) throw ERRORS.invalidRange();
  return { from, to: Math.min(to, size - 1) };
}

function contentDisposition(download: string | null): Record<string, string> {
  if (download === null) return {};
  if (download === '') return { 'content-disposition': 'attachment;' };
  const name = encodeURIComponent(download);
  return { 'content-disposition': `attachment; filename=${name}; filename*=UTF-8''${name}` };
}

function baseHeaders(row: ObjectRow): Record<string, string> {
  const metadata = row.metadata ?? ({} as Partial<NonNullable<ObjectRow['metadata']>>);
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    'content-type': metadata.mimetype || 'application/octet-stream',
    'cache-control': metadata.cacheControl || 'no-cache',
    'x-robots-tag': 'none',
  };
  if (metadata.eTag) headers.etag = metadata.eTag;
  const lastModified = new Date(metadata.lastModified ?? row.updated_at);
  if (!Number.isNaN(lastModified.getTime())) headers['last-modified'] = lastModified.toUTCString();
  return headers;
}

/**
 * Streams an object from an already opened file (opened while the row was read, so a concurrent delete cannot
 * pull the file away), honouring `Range`, `If-None-Match` and `?download=`. The handle is closed when the
 * stream ends or is cancelled.
 */
export async function renderObject(
  file: FileHandle,
  row: ObjectRow,
  request: Request,
  options: { head: boolean; download: string | null },
): Promise<Response> {
  try {
    const { size } = await file.stat();
    const headers = { ...baseHeaders(row), ...contentDisposition(options.download) };
    const ifNoneMatch = request.headers.get('if-none-match');
    if (ifNoneMatch && headers.etag && ifNoneMatch === headers.etag) {
      await file.close();
      return new Response(null, { status: 304, headers });
    }
    const rangeHeader = request.headers.get('range');
    const range = rangeHeader ? parseRange(rangeHeader, size) : undefined;
    const length = range ? range.to - range.from + 1 : size;
    headers['content-length'] = String(length);
    if (range) headers['content-range'] = `bytes ${range.from}-${range.to}/${size}`;
    const status = range ? 206 : 200;
    if (options.head || length === 0) {
      await file.close();
      return new Response(null, { status, headers });
    }
    const stream = file.createReadStream({ start: range?.from ?? 0, end: range?.to ?? size - 1, autoClose: true });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        stream.on('data', (chunk) => {
          controller.enqueue(new Uint8Array(chunk as Buffer));
          if ((controller.desiredSize ?? 0) <= 0) stream.pause();
        });
        stream.on('end', () => controller.close());
        stream.on('error', (error) => controller.error(error));
      },
      pull() {
        stream.resume();
      },
      cancel() {
        stream.destroy();
      },
    });
    return new Response(body, { status, headers });
  } catch (error) {
    await file.close().catch(() => {});
    throw error;
  }
}

/** The `/object/info` body (upstream `InfoRenderer`). */
export function infoBody(row: ObjectRow): Record<string, unknown> {
  const metadata = row.metadata;
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    bucket_id: row.bucket_id,
    size: metadata?.size ?? null,
    content_type: metadata?.mimetype ?? null,
    cache_control: metadata?.cacheControl ?? null,
    etag: metadata?.eTag ?? null,
    metadata: row.user_metadata,
    last_modified: row.updated_at,
    created_at: row.created_at,
  };
}
