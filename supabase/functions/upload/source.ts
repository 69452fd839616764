import { ApiError } from '../_shared/errors.ts';
import { Utf8Checker } from '../_shared/file-type.ts';
import { MultipartError, MultipartForm } from '../_shared/multipart.ts';

/** Why a body is not a usable upload form. */
export const INVALID_CONTENT_TYPE = 'The request body must be multipart/form-data with a file field named "file".';

/** Opens the request's multipart form, refusing bodies over `maxBodyBytes`; errors as {@link fromMultipartError}. */
export function openForm(request: Request, maxBodyBytes: number): MultipartForm {
  try {
    return new MultipartForm(request, { maxBodyBytes });
  } catch (error) {
    throw fromMultipartError(error);
  }
}

/** A multipart parsing failure as the answer the caller gets: 413 for a body over the limit, else a 400. */
export function fromMultipartError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof MultipartError) {
    if (error.code === 'body_too_large') return new ApiError(413, 'file_too_large', 'The request body is too large.', { cause: error });
    const message = error.code === 'invalid_content_type' ? INVALID_CONTENT_TYPE : error.message;
    return new ApiError(400, error.code, message, { cause: error });
  }
  return new ApiError(400, 'malformed_multipart', 'The multipart/form-data body is malformed or incomplete.', { cause: error });
}

/**
 * The file part's bytes on their way to Storage: counted against the limit, checked as UTF-8 text when the type
 * is text, with the first bytes available for sniffing before anything is sent. A failed check errors the stream,
 * which aborts the Storage request before its end, so Storage stores nothing; `failure` says why.
 */
export class UploadSource {
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

