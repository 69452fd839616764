import busboy from 'busboy';

/** Why a multipart body could not be read. */
export type MultipartErrorCode = 'invalid_content_type' | 'malformed_multipart' | 'body_too_large';

/** A request body that is not, or not well-formed, `multipart/form-data`, or is larger than allowed. */
export class MultipartError extends Error {
  constructor(
    readonly code: MultipartErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MultipartError';
  }
}

/** One file part, its bytes still unread. */
export interface MultipartFile {
  /** File name as sent (`filename`/`filename*`, decoded as UTF-8), untrusted. */
  filename: string;
  /** The part's declared Content-Type, untrusted. */
  mimeType: string;
  /** The part's bytes, pulled from the request as they are read (backpressure reaches the client). */
  body: ReadableStream<Uint8Array>;
}

/** Limits of a {@link MultipartForm}. */
export interface MultipartOptions {
  /** Most bytes read from the request in all; a longer body is cut off there (and a file part errors). */
  maxBodyBytes: number;
  /** Most non-file fields accepted before the form is refused; default 20. */
  maxFields?: number;
  /** Largest non-file field value, in bytes; default 16 KiB. */
  maxFieldBytes?: number;
}

/** Whether a Content-Type header names `multipart/form-data`. */
export function isMultipartFormData(contentType: string | null | undefined): boolean {
  return /^multipart\/form-data\s*(;|$)/i.test(contentType?.trim() ?? '');
}

const MALFORMED = 'The multipart/form-data body is malformed or incomplete.';

/**
 * A `multipart/form-data` request body read as a stream (busboy underneath; it never buffers a file), so a file
 * can go on to Storage while it arrives. The whole body is always read to its end (up to `maxBodyBytes`), parts
 * the caller does not take being dropped: a server that answers before the client has sent everything leaves
 * many HTTP/1.1 clients and proxies unable to read the answer or reuse the connection.
 */
export class MultipartForm {
  private readonly parser: busboy.Busboy;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private readonly request: Request;
  private pumped?: Promise<boolean>;
  private received = 0;
  /** `parse` feeds busboy; `drop` reads and discards (after the caller is done, or the form broke). */
  private mode: 'parse' | 'drop' = 'parse';
  private failure?: MultipartError;
  private waiting?: { field: string; resolve: (file: MultipartFile | undefined) => void; reject: (error: unknown) => void };
  private taken = false;
  private fileOpen?: { error: (error: MultipartError) => void };
  private wake?: () => void;

  /** Throws {@link MultipartError} `invalid_content_type` unless the request is multipart with a boundary. */
  constructor(
    request: Request,
    private readonly options: MultipartOptions,
  ) {
    const contentType = request.headers.get('content-type');
    if (!isMultipartFormData(contentType)) {
      throw new MultipartError('invalid_content_type', 'The request body must be multipart/form-data.');
    }
    try {
      this.parser = busboy({
        headers: { 'content-type': contentType! },
        defParamCharset: 'utf8',
        limits: { fields: options.maxFields ?? 20, fieldSize: options.maxFieldBytes ?? 16 * 1024, headerPairs: 100 },
      });
    } catch (error) {
      throw new MultipartError('invalid_content_type', 'The multipart/form-data content type has no boundary.', { cause: error });
    }
    this.parser.on('file', (name, file, info) => {
      if (this.taken || !this.waiting || name !== this.waiting.field) {
        file.resume();
        return;
      }
      this.taken = true;
      this.waiting.resolve({ filename: info.filename ?? '', mimeType: info.mimeType ?? '', body: this.webStream(file) });
    });
    this.parser.on('field', () => {});
    this.parser.on('fieldsLimit', () => this.fail(new MultipartError('malformed_multipart', 'The form has too many fields.')));
    this.parser.on('error', (error) => this.fail(error));
    this.parser.on('close', () => {
      if (!this.taken) this.waiting?.resolve(undefined);
      this.drop();
    });
    this.request = request;
  }

  /**
   * The first file part named `field`, as soon as its headers are read; parts before it are dropped.
   * `undefined` when the form ends without one. Rejects with a {@link MultipartError} for a malformed body.
   * Call it once.
   */
  file(field: string): Promise<MultipartFile | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.mode === 'drop') return Promise.resolve(undefined);
    const found = new Promise<MultipartFile | undefined>((resolve, reject) => {
      this.waiting = { field, resolve, reject };
    });
    this.start();
    return found;
  }

  /**
   * Resolves once the request body has been read to its end (`true`) or cut off at `maxBodyBytes` (`false`).
   * Answer only after it, so the client can read the answer.
   */
  finished(): Promise<boolean> {
    return this.start();
  }

  /** Stops parsing; the rest of the body is dropped. */
  discard(): void {
    this.drop();
  }

  private start(): Promise<boolean> {
    if (!this.pumped) {
      this.reader = this.request.body?.getReader();
      this.pumped = this.pump();
    }
    return this.pumped;
  }

  private fail(error: unknown): void {
    if (this.failure) return;
    this.failure = error instanceof MultipartError ? error : new MultipartError('malformed_multipart', MALFORMED, { cause: error });
    this.drop();
    if (!this.taken) this.waiting?.reject(this.failure);
    this.fileOpen?.error(this.failure);
  }

  /** Feeds the body to busboy, waiting for it to drain, so the client is read only as fast as the file is. */
  private async pump(): Promise<boolean> {
    if (!this.reader) {
      this.parser.end();
      return true;
    }
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        this.received += value.length;
        if (this.received > this.options.maxBodyBytes) {
          this.fail(new MultipartError('body_too_large', 'The request body is too large.'));
          await this.reader.cancel().catch(() => {});
          return false;
        }
        if (this.mode === 'drop' || this.parser.destroyed) continue;
        if (!this.parser.write(value)) await this.drained();
      }
      if (this.mode === 'parse' && !this.parser.destroyed) this.parser.end();
      return true;
    } catch (error) {
      // The client went away or the body broke: end the file part with the error too.
      this.fail(error);
      this.parser.destroy();
      return false;
    }
  }

  private drained(): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.parser.off('drain', done);
        this.parser.off('close', done);
        this.wake = undefined;
        resolve();
      };
      this.parser.once('drain', done);
      this.parser.once('close', done);
      // Dropping (the caller stopped reading the file) must not wait for a drain that will never come.
      this.wake = done;
    });
  }

  private drop(): void {
    this.mode = 'drop';
    this.wake?.();
  }

  /** busboy's file stream (a Node readable) as a Web stream, paused while the consumer is full. */
  private webStream(file: FileStream): ReadableStream<Uint8Array> {
    // Node streams may still emit what they had buffered after the Web side ended; `open` keeps that out.
    let open = true;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.fileOpen = {
          error: (error) => {
            if (open) controller.error(error);
            open = false;
          },
        };
        file.on('data', (chunk: Uint8Array) => {
          if (!open) return;
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) file.pause();
        });
        file.on('end', () => {
          if (open) controller.close();
          open = false;
        });
        file.on('error', (error: Error) => {
          if (open) controller.error(this.failure ?? new MultipartError('malformed_multipart', MALFORMED, { cause: error }));
          open = false;
        });
        file.pause();
      },
      pull: () => {
        file.resume();
      },
      cancel: () => {
        open = false;
        this.drop();
        file.destroy();
      },
    });
  }
}

/** The part of a Node readable (busboy's file stream) that {@link MultipartForm} uses. */
interface FileStream {
  on(event: 'data', listener: (chunk: Uint8Array) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(error?: Error): unknown;
}
