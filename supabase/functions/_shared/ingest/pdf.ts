import { IngestError } from './errors.ts';
import { checkLength } from './text.ts';
import type { IngestLimits, ParsedDocument, Section, SectionRange } from './types.ts';

// pdf.js options for a sandbox: no worker thread, nothing fetched (no font, CMap or wasm files; the unpdf build
// inlines its worker and runs it in the calling thread), no eval, no canvas or image decoding. Keys set to
// undefined override the Node defaults unpdf adds, so Node and Deno extract the same text.
const PDFJS_OPTIONS = {
  useWorkerFetch: false,
  isEvalSupported: false,
  useSystemFonts: false,
  disableFontFace: true,
  useWasm: false,
  isOffscreenCanvasSupported: false,
  isImageDecoderSupported: false,
  enableXfa: false,
  disableAutoFetch: true,
  disableStream: true,
  disableRange: true,
  standardFontDataUrl: undefined,
  cMapUrl: undefined,
  wasmUrl: undefined,
  iccUrl: undefined,
  verbosity: 0, // errors only
};

/** A text item as pdf.js reports it (the fields used here). */
interface TextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
}

const NO_TEXT = 'This PDF has no text we can read; it may be a scan. Try a PDF with selectable text.';

/**
 * Opens a PDF with pdf.js (through unpdf, loaded on first use) and reads its pages lazily: each page with text is
 * one section whose text is the page text (offsets refer to it). Items are joined in content order; a line
 * break follows each line, and a blank line marks a vertical gap larger than the line spacing, so paragraphs
 * survive as far as the layout shows them. Throws `encrypted_file`, `corrupt_file` or `too_many_pages` on open.
 */
export async function openPdf(bytes: Uint8Array, limits: IngestLimits): Promise<ParsedDocument> {
  const { getDocumentProxy } = await import('unpdf');
  let pdf: Awaited<ReturnType<typeof getDocumentProxy>>;
  try {
    // pdf.js takes ownership of (detaches) the buffer it is given; the caller keeps theirs.
    pdf = await getDocumentProxy(bytes.slice(), PDFJS_OPTIONS);
  } catch (error) {
    throw pdfError(error);
  }
  const pageCount = pdf.numPages;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await pdf.loadingTask.destroy();
  };
  if (pageCount > limits.maxPages) {
    await close();
    throw new IngestError(
      'too_many_pages',
      `This PDF has ${pageCount.toLocaleString('en-US')} pages; we can process up to ${limits.maxPages.toLocaleString('en-US')}. Split it into smaller files and upload them separately.`,
    );
  }

  async function* sections(range: SectionRange = {}): AsyncGenerator<Section> {
    const fromPage = range.fromPage ?? 1;
    const toPage = Math.min(range.toPage ?? pageCount, pageCount);
    if (!Number.isInteger(fromPage) || fromPage < 1 || !Number.isInteger(toPage)) throw new RangeError('fromPage and toPage must be integers from 1');
    let chars = 0;
    let found = false;
    for (let number = fromPage; number <= toPage; number++) {
      let text: string;
      try {
        const page = await pdf.getPage(number);
        const content = await page.getTextContent();
        text = pageText(content.items as TextItem[]);
        page.cleanup();
      } catch (error) {
        throw pdfError(error);
      }
      chars += text.length;
      checkLength(chars, limits.maxChars);
      if (text === '') continue;
      found = true;
      yield { text, start: 0, headings: [], page: number };
    }
    // Only a run over the whole document can tell that it has no text at all.
    if (!found && fromPage === 1 && toPage === pageCount) throw new IngestError('no_text', NO_TEXT);
  }

  return { format: 'pdf', pageCount, sections, close };
}

/** The text of one page, normalised: lines trimmed, runs of spaces collapsed, at most one blank line in a row. */
export function pageText(items: TextItem[]): string {
  let text = '';
  let lastY: number | undefined;
  let lastSize = 0;
  let lineEnded = false;
  for (const item of items) {
    const y = item.transform[5];
    const size = Math.hypot(item.transform[2], item.transform[3]) || lastSize;
    if (lineEnded && lastY !== undefined && item.str !== '') {
      // A gap of more than ~1.5 lines (or a jump up, into the next column) separates paragraphs.
      const gap = lastY - y;
      if (gap > 1.5 * Math.max(size, lastSize) || gap < -Math.max(size, lastSize)) text += '\n';
      lineEnded = false;
    }
    text += item.str;
    if (item.str !== '' || item.hasEOL) {
      lastY = y;
      lastSize = size;
    }
    if (item.hasEOL) {
      text += '\n';
      lineEnded = true;
    }
  }
  return text
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Maps pdf.js failures that come from the file to an {@link IngestError}; others are returned as they are. */
function pdfError(error: unknown): unknown {
  const name = (error as { name?: unknown })?.name;
  if (name === 'PasswordException') {
    return new IngestError('encrypted_file', 'This PDF is password-protected. Remove the password (for example by printing it to a new PDF), then upload it again.', { cause: error });
  }
  if (name === 'InvalidPDFException') {
    return new IngestError('corrupt_file', 'This PDF is damaged and could not be opened. Save or export it as a PDF again, then upload the new copy.', { cause: error });
  }
  // Errors raised while parsing arrive wrapped, with the original "Name: message" as details. Running out of
  // memory or stack is not the file's fault as such and is worth a retry.
  const details = String((error as { details?: unknown })?.details ?? '');
  if (name === 'UnknownErrorException' && !/^(RangeError|InternalError)\b/.test(details)) {
    return new IngestError('corrupt_file', 'This PDF is damaged and could not be read. Save or export it as a PDF again, then upload the new copy.', { cause: error });
  }
  return error;
}
