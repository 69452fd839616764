import { IngestError } from './errors.ts';
import type { Section } from './types.ts';

/**
 * Decodes UTF-8 that has already been validated, dropping a byte order mark and normalising line endings to
 * `\n`, so offsets mean the same on every platform. The result is the "source text" that offsets refer to.
 */
export function decodeText(bytes: Uint8Array): string {
  // TextDecoder drops a leading BOM by default (ignoreBOM: false).
  return new TextDecoder('utf-8').decode(bytes).replace(/\r\n?/g, '\n');
}

/** Throws `too_much_text` when extracted text exceeds the limit. */
export function checkLength(length: number, maxChars: number): void {
  if (length > maxChars) {
    throw new IngestError(
      'too_much_text',
      `This file has more than ${maxChars.toLocaleString('en-US')} characters of text, more than we can process. Split it into smaller files and upload them separately.`,
    );
  }
}

/** Throws `no_text` for a file that is empty or only whitespace. */
export function checkNotBlank(text: string, message = 'This file is empty, so there is nothing to search. Upload a file with some text in it.'): void {
  if (!/\S/.test(text)) throw new IngestError('no_text', message);
}

/**
 * The section for `source.slice(from, to)` without its surrounding whitespace, or `undefined` when that is blank.
 * `start` is the offset of the trimmed text in `source`.
 */
export function sliceSection(
  source: string,
  from: number,
  to: number,
  fields: Omit<Section, 'text' | 'start'>,
): Section | undefined {
  let start = from;
  let end = to;
  while (start < end && isSpace(source.charCodeAt(start))) start++;
  while (end > start && isSpace(source.charCodeAt(end - 1))) end--;
  if (start === end) return undefined;
  return { text: source.slice(start, end), start, ...fields };
}

/** Plain text: one section, the whole text. */
export function plainTextSections(text: string): Section[] {
  const section = sliceSection(text, 0, text.length, { headings: [] });
  return section ? [section] : [];
}

/** Whitespace as `\s` matches it, for one UTF-16 code unit. */
export function isSpace(code: number): boolean {
  return (
    code === 0x20 ||
    (code >= 0x09 && code <= 0x0d) ||
    code === 0xa0 ||
    code === 0x1680 ||
    (code >= 0x2000 && code <= 0x200a) ||
    code === 0x2028 ||
    code === 0x2029 ||
    code === 0x202f ||
    code === 0x205f ||
    code === 0x3000 ||
    code === 0xfeff
  );
}

/**
 * Appends many small strings in linear time and bounded overhead: parts are joined in blocks, so millions of
 * tiny appends (JSON lines, HTML text nodes) never hold millions of string objects at once.
 */
export class TextBuilder {
  length = 0;
  private blocks: string[] = [];
  private parts: string[] = [];

  append(text: string): void {
    this.parts.push(text);
    this.length += text.length;
    if (this.parts.length >= 4096) {
      this.blocks.push(this.parts.join(''));
      this.parts = [];
    }
  }

  toString(): string {
    if (this.parts.length > 0) {
      this.blocks.push(this.parts.join(''));
      this.parts = [];
    }
    if (this.blocks.length > 1) this.blocks = [this.blocks.join('')];
    return this.blocks[0] ?? '';
  }
}
