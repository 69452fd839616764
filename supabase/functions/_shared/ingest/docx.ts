import { IngestError } from './errors.ts';
import { type HtmlText, htmlToText } from './html.ts';
import { restoreProtoAccessor } from './proto-shim.ts';
import type { IngestLimits } from './types.ts';
import { zipEntries } from './zip.ts';

const DAMAGED = 'This Word document is damaged and could not be opened. Open it in Word, save it as .docx again, then upload the new copy.';

/**
 * DOCX: converted to HTML by mammoth (loaded on first use), then read like HTML, so Word's heading styles become
 * the heading path, lists and tables keep their shape and images are skipped unread. The archive's directory is
 * checked first: XML parts larger than `maxDocxXmlBytes` once inflated are refused before anything is inflated.
 */
export async function docxText(bytes: Uint8Array, limits: IngestLimits): Promise<HtmlText> {
  const entries = zipEntries(bytes);
  if (!entries) throw new IngestError('corrupt_file', DAMAGED);
  const xmlBytes = entries.filter((entry) => /\.(xml|rels)$/i.test(entry.name)).reduce((sum, entry) => sum + entry.size, 0);
  if (xmlBytes > limits.maxDocxXmlBytes) {
    throw new IngestError('too_much_text', 'This Word document is larger inside than we can process. Split it into smaller documents and upload them separately.');
  }
  restoreProtoAccessor();
  const { default: mammoth } = await import('mammoth');
  let html: string;
  try {
    const result = await mammoth.convertToHtml({ buffer: bytes } as unknown as Parameters<typeof mammoth.convertToHtml>[0], {
      convertImage: mammoth.images.imgElement(() => Promise.resolve({ src: '' })),
      ignoreEmptyParagraphs: true,
      externalFileAccess: false,
    });
    html = result.value;
  } catch (error) {
    // JSZip, mammoth and its XML parser report problems with the file as plain Errors; a TypeError or RangeError
    // is a bug or a resource problem, worth a retry.
    if (error instanceof Error && error.constructor === Error) throw new IngestError('corrupt_file', DAMAGED, { cause: error });
    throw error;
  }
  return htmlToText(html, limits);
}

const CFB_MAGIC = [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
// "EncryptedPackage" in UTF-16LE: the stream an encrypted Office file keeps its real content in.
const ENCRYPTED_PACKAGE = Array.from('EncryptedPackage').flatMap((ch) => [ch.charCodeAt(0), 0]);

/**
 * What a file named .docx that is not a ZIP package is: a password-protected Word document (Office encrypts
 * .docx files into an OLE compound file), an old binary Word document, or something else.
 */
export function classifyNonZipDocx(bytes: Uint8Array): 'encrypted' | 'legacy_word' | 'other' {
  if (bytes.length < CFB_MAGIC.length || CFB_MAGIC.some((byte, i) => bytes[i] !== byte)) return 'other';
  return indexOf(bytes, ENCRYPTED_PACKAGE) >= 0 ? 'encrypted' : 'legacy_word';
}

function indexOf(bytes: Uint8Array, pattern: number[]): number {
  const first = pattern[0];
  for (let at = bytes.indexOf(first); at >= 0 && at + pattern.length <= bytes.length; at = bytes.indexOf(first, at + 1)) {
    let i = 1;
    while (i < pattern.length && bytes[at + i] === pattern[i]) i++;
    if (i === pattern.length) return at;
  }
  return -1;
}
