/**
 * Why a document cannot be turned into chunks. The worker stores `code` and `message` on the document, so codes
 * are stable and messages are sentences for the person who uploaded the file.
 */
export type IngestErrorCode =
  | 'no_text'
  | 'encrypted_file'
  | 'corrupt_file'
  | 'file_content_mismatch'
  | 'unsupported_file_type'
  | 'too_much_text'
  | 'too_many_pages'
  | 'too_deeply_nested';

/** The message each code gets when the parser has nothing more specific to say. */
export const INGEST_ERROR_MESSAGES: Readonly<Record<IngestErrorCode, string>> = {
  no_text: 'We could not find any text in this file. If it is a scan or a picture, try a version with selectable text.',
  encrypted_file: 'This file is password-protected. Remove the password, then upload it again.',
  corrupt_file: 'This file looks damaged and could not be opened. Save or export it again, then upload the new copy.',
  file_content_mismatch: 'The content of this file does not match its type. Check that the file name ends with the right extension.',
  unsupported_file_type: 'We cannot read this type of file. Upload a PDF, Word (.docx), text, Markdown, CSV, HTML or JSON file.',
  too_much_text: 'This file has more text than we can process. Split it into smaller files and upload them separately.',
  too_many_pages: 'This document has more pages than we can process. Split it into smaller files and upload them separately.',
  too_deeply_nested: 'This file is nested too deeply for us to read. Simplify its structure, then upload it again.',
};

/** A document that cannot be ingested, for a reason retrying will not fix. Anything else thrown is worth a retry. */
export class IngestError extends Error {
  constructor(
    readonly code: IngestErrorCode,
    message: string = INGEST_ERROR_MESSAGES[code],
    options: { cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'IngestError';
  }
}

/** Whether an error is V8 running out of stack, which deeply nested input causes in recursive parsers. */
export function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}
