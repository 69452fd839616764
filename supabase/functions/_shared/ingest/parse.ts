import { checkSignature, DOCUMENT_TYPES, SIGNATURE_BYTES, Utf8Checker } from '../file-type.ts';
import { csvSections } from './csv.ts';
import { classifyNonZipDocx, docxText } from './docx.ts';
import { IngestError } from './errors.ts';
import { sectionsAtHeadings } from './headings.ts';
import { htmlToText } from './html.ts';
import { jsonText } from './json.ts';
import { markdownSections } from './markdown.ts';
import { openPdf } from './pdf.ts';
import { checkLength, checkNotBlank, decodeText, plainTextSections } from './text.ts';
import { DEFAULT_LIMITS, type DocumentFormat, type IngestLimits, type ParsedDocument, type Section } from './types.ts';

/** Options of {@link parseDocument}. */
export interface ParseOptions {
  /** Overrides of {@link DEFAULT_LIMITS}. */
  limits?: Partial<IngestLimits>;
}

const FORMATS: Readonly<Record<string, DocumentFormat>> = {
  'text/plain': 'text',
  'text/markdown': 'markdown',
  'text/csv': 'csv',
  'text/html': 'html',
  'application/json': 'json',
  'application/pdf': 'pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};

const MISMATCH: Readonly<Record<'pdf' | 'docx' | 'text', string>> = {
  pdf: 'This file is not a real PDF, although its type says it is. Save or export it as a PDF again, then upload it.',
  docx: 'This file is not a real Word (.docx) document, although its type says it is. Open it in Word, save it as .docx, then upload it again.',
  text: 'This file does not contain plain text, although its type says it does. If it is text in another encoding, save it as UTF-8; otherwise upload the original file.',
};

/**
 * Parses a document of one of the accepted types (`_shared/file-type.ts`) into sections. The content is checked
 * against the type again (files can reach Storage through signed upload URLs, which skip the upload function's
 * checks): PDF and DOCX by signature, text types as UTF-8 without NUL bytes. Text formats are parsed here;
 * a PDF is only opened, and its pages are read as `sections()` is iterated — call `close()` when done.
 * Throws {@link IngestError} for files that cannot be ingested; other errors are worth a retry.
 */
export async function parseDocument(bytes: Uint8Array, mimeType: string, options: ParseOptions = {}): Promise<ParsedDocument> {
  const limits: IngestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const type = DOCUMENT_TYPES[mimeType.split(';')[0].trim().toLowerCase()];
  if (!type) throw new IngestError('unsupported_file_type');
  const format = FORMATS[type.mimeType];
  if (bytes.length === 0) throw new IngestError('no_text', 'This file is empty, so there is nothing to search. Upload a file with some text in it.');

  if (!checkSignature(bytes.subarray(0, SIGNATURE_BYTES), type.kind)) {
    if (type.kind === 'docx') {
      const kind = classifyNonZipDocx(bytes);
      if (kind === 'encrypted') {
        throw new IngestError('encrypted_file', 'This Word document is password-protected. Remove the password in Word, save it, then upload it again.');
      }
      if (kind === 'legacy_word') {
        throw new IngestError('file_content_mismatch', 'This is an older Word document (.doc), not a .docx. Open it in Word, save it as .docx, then upload it again.');
      }
    }
    throw new IngestError('file_content_mismatch', MISMATCH[type.kind]);
  }
  if (type.kind === 'pdf') return openPdf(bytes, limits);
  if (type.kind === 'docx') {
    const { text, headings } = await docxText(bytes, limits);
    checkNotBlank(text, 'This Word document has no text we can read. If it only holds pictures or scans, try a version with selectable text.');
    return textDocument(format, text, sectionsAtHeadings(text, headings));
  }

  // UTF-8 takes at most 3 bytes per UTF-16 code unit, so this much plain text is over the limit for sure:
  // refuse it before decoding copies it into memory.
  if ((format === 'text' || format === 'markdown' || format === 'csv') && bytes.length > 3 * limits.maxChars) {
    checkLength(Math.ceil(bytes.length / 3), limits.maxChars);
  }
  const checker = new Utf8Checker();
  if (!(checker.push(bytes) && checker.end())) throw new IngestError('file_content_mismatch', MISMATCH.text);
  const source = decodeText(bytes);
  checkNotBlank(source);
  if (format === 'json') {
    const { text, sections } = jsonText(source, limits);
    return textDocument(format, text, sections);
  }
  if (format === 'html') {
    const { text, headings } = htmlToText(source, limits);
    checkNotBlank(text, 'This page has no visible text, so there is nothing to search.');
    return textDocument(format, text, sectionsAtHeadings(text, headings));
  }
  checkLength(source.length, limits.maxChars);
  if (format === 'markdown') return textDocument(format, source, markdownSections(source));
  if (format === 'csv') {
    const sections = csvSections(source);
    if (sections.length === 0) throw new IngestError('no_text', 'This CSV file has no rows with values, so there is nothing to search.');
    return textDocument(format, source, sections);
  }
  return textDocument(format, source, plainTextSections(source));
}

function textDocument(format: DocumentFormat, text: string, sections: Section[]): ParsedDocument {
  return {
    format,
    text,
    async *sections() {
      yield* sections;
    },
    async close() {},
  };
}
