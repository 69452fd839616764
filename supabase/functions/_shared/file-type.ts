import { fileExtension } from './file-name.ts';

/** How a document's content is checked: a binary signature, or UTF-8 text. */
export type ContentKind = 'pdf' | 'docx' | 'text';

/** A document type the app accepts: its MIME type (as stored and as in the bucket's allow-list) and check. */
export interface DocumentType {
  mimeType: string;
  kind: ContentKind;
}

const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * The accepted types by MIME type; keep in step with bucket `documents`' `allowed_mime_types` (migration
 * `create_document_ingestion` and `[storage.buckets.documents]` in config.toml).
 */
export const DOCUMENT_TYPES: Readonly<Record<string, DocumentType>> = {
  'text/plain': { mimeType: 'text/plain', kind: 'text' },
  'text/markdown': { mimeType: 'text/markdown', kind: 'text' },
  'text/csv': { mimeType: 'text/csv', kind: 'text' },
  'text/html': { mimeType: 'text/html', kind: 'text' },
  'application/json': { mimeType: 'application/json', kind: 'text' },
  'application/pdf': { mimeType: 'application/pdf', kind: 'pdf' },
  [DOCX]: { mimeType: DOCX, kind: 'docx' },
};

const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: 'text/plain',
  text: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  csv: 'text/csv',
  html: 'text/html',
  htm: 'text/html',
  json: 'application/json',
  pdf: 'application/pdf',
  docx: DOCX,
};

/**
 * The type a file claims to be: by its name's extension when it has a known one (browsers declare `.md`/`.csv`
 * inconsistently), else by the declared MIME type (parameters ignored). `undefined` means not accepted. The
 * claim is then checked against the content ({@link checkSignature}, {@link Utf8Checker}).
 */
export function resolveDocumentType(name: string, declaredMimeType?: string): DocumentType | undefined {
  const extension = fileExtension(name);
  if (extension !== '') return BY_EXTENSION[extension] ? DOCUMENT_TYPES[BY_EXTENSION[extension]] : undefined;
  const declared = declaredMimeType?.split(';')[0].trim().toLowerCase() ?? '';
  return DOCUMENT_TYPES[declared];
}

/** Bytes needed by {@link checkSignature}. */
export const SIGNATURE_BYTES = 8;

const PDF_MAGIC = [0x25, 0x50, 0x44, 0x46, 0x2d]; // %PDF-
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04]; // PK\3\4, a local file header (DOCX is a ZIP package)
const UTF8_BOM = [0xef, 0xbb, 0xbf];

function startsWith(bytes: Uint8Array, magic: number[]): boolean {
  return bytes.length >= magic.length && magic.every((byte, i) => bytes[i] === byte);
}

/**
 * Whether the first bytes of a file fit its claimed kind: PDF starts with `%PDF-`, DOCX with a ZIP local file
 * header; text must not start like either (a renamed binary). Text is checked in full by {@link Utf8Checker}.
 */
export function checkSignature(head: Uint8Array, kind: ContentKind): boolean {
  if (kind === 'pdf') return startsWith(head, PDF_MAGIC);
  if (kind === 'docx') return startsWith(head, ZIP_MAGIC);
  const body = startsWith(head, UTF8_BOM) ? head.subarray(UTF8_BOM.length) : head;
  return !startsWith(body, PDF_MAGIC) && !startsWith(body, ZIP_MAGIC);
}

/**
 * Checks a byte stream chunk by chunk for valid UTF-8 without NUL bytes (what text files hold; binaries almost
 * never pass), holding at most one incomplete character between chunks. `push` and `end` return false once the
 * content is not text.
 */
export class Utf8Checker {
  // Validated byte by byte (RFC 3629 table 3-7) rather than with TextDecoder, which would build a throw-away
  // string per chunk: on a 50 MiB upload that garbage lands in V8's large-object space and grows the heap.
  private need = 0;
  private lo = 0x80;
  private hi = 0xbf;
  private valid = true;

  push(chunk: Uint8Array): boolean {
    if (!this.valid) return false;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.need > 0) {
        if (byte < this.lo || byte > this.hi) return (this.valid = false);
        this.need -= 1;
        this.lo = 0x80;
        this.hi = 0xbf;
        continue;
      }
      if (byte === 0) return (this.valid = false);
      if (byte < 0x80) continue;
      if (byte >= 0xc2 && byte <= 0xdf) this.need = 1;
      else if (byte === 0xe0) [this.need, this.lo] = [2, 0xa0];
      else if (byte === 0xed) [this.need, this.hi] = [2, 0x9f];
      else if (byte >= 0xe1 && byte <= 0xef) this.need = 2;
      else if (byte === 0xf0) [this.need, this.lo] = [3, 0x90];
      else if (byte === 0xf4) [this.need, this.hi] = [3, 0x8f];
      else if (byte >= 0xf1 && byte <= 0xf3) this.need = 3;
      else return (this.valid = false);
    }
    return true;
  }

  /** Call after the last chunk: a character cut off at the end is invalid too. */
  end(): boolean {
    if (this.need > 0) this.valid = false;
    return this.valid;
  }
}
