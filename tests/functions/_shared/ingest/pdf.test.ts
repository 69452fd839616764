import { getDocumentProxy } from 'unpdf';
import { describe, expect, it } from 'vitest';
import { chunkSections } from '../../../../supabase/functions/_shared/ingest/chunk.ts';
import { IngestError } from '../../../../supabase/functions/_shared/ingest/errors.ts';
import { parseDocument } from '../../../../supabase/functions/_shared/ingest/parse.ts';
import { encryptedPdf, imageOnlyPdf, sentences, textPdf, utf8 } from './fixtures.ts';
import { collect, ingest, sourceOf } from './ingest.ts';

const PDF = 'application/pdf';

/** Lines of about 80 characters holding `count` sentences. */
function lines(count: number, topic: string): string[] {
  return sentences(count, topic).match(/.{1,80}(\s|$)/g)!.map((line) => line.trim());
}

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

describe('PDF parsing', () => {
  it('reads the text of each page with its page number and skips a page without text', async () => {
    const bytes = await textPdf([['First page title', 'Its second line.'], null, ['Third page text.']]);
    const result = await ingest(bytes, PDF);
    expect(result.pageCount).toBe(3);
    expect(result.text).toBeUndefined();
    expect(result.sections.map((section) => [section.page, section.text])).toEqual([
      [1, 'First page title\nIts second line.'],
      [3, 'Third page text.'],
    ]);
  });

  it('keeps a vertical gap between lines as a paragraph break in the page text', async () => {
    const bytes = await textPdf([['Title line', 'Line two of the paragraph.', '', 'A second paragraph.']]);
    const [section] = (await ingest(bytes, PDF)).sections;
    expect(section.text).toBe('Title line\nLine two of the paragraph.\n\nA second paragraph.');
  });

  it('never lets a chunk span pages, and start/end index the page text', async () => {
    const bytes = await textPdf([lines(20, 'engines'), lines(20, 'brakes'), lines(20, 'wheels')]);
    const result = await ingest(bytes, PDF, {}, { maxTokens: 64, overlapTokens: 10 });
    expect(new Set(result.chunks.map((chunk) => chunk.metadata.page))).toEqual(new Set([1, 2, 3]));
    for (const chunk of result.chunks) {
      const page = result.sections.find((section) => section.page === chunk.metadata.page)!;
      expect(page.text.includes(chunk.content)).toBe(true);
      expect(sourceOf(result, chunk).slice(chunk.metadata.start, chunk.metadata.end)).toBe(chunk.content);
    }
    expect(result.chunks.filter((chunk) => chunk.content.includes('engines')).every((chunk) => chunk.metadata.page === 1)).toBe(true);
  });

  it('resumed at page N, gives exactly the chunks a full run gives from page N on', async () => {
    const bytes = await textPdf([lines(12, 'one'), null, lines(12, 'three'), lines(12, 'four'), lines(12, 'five')]);
    const full = await ingest(bytes, PDF, {}, { maxTokens: 48, overlapTokens: 8 });
    for (const fromPage of [2, 3, 4, 5]) {
      const before = full.chunks.filter((chunk) => chunk.metadata.page! < fromPage).length;
      const resumed = await ingest(bytes, PDF, { fromPage }, { maxTokens: 48, overlapTokens: 8, startIndex: before });
      expect(resumed.chunks.length).toBeGreaterThan(0);
      expect(resumed.chunks).toEqual(full.chunks.slice(before));
    }
  });

  it('reads only the pages of a slice when given fromPage and toPage', async () => {
    const bytes = await textPdf([['one'], ['two'], ['three'], ['four']]);
    const document = await parseDocument(bytes, PDF);
    const sections = await collect(document.sections({ fromPage: 2, toPage: 3 }));
    await document.close();
    expect(sections.map((section) => [section.page, section.text])).toEqual([
      [2, 'two'],
      [3, 'three'],
    ]);
  });

  it('leaves the caller\'s bytes intact (pdf.js would otherwise take over the buffer)', async () => {
    const bytes = await textPdf([['Hello']]);
    const copy = bytes.slice();
    await ingest(bytes, PDF);
    expect(bytes).toEqual(copy);
  });
});

describe('PDF errors', () => {
  it('answers no_text for a PDF whose pages only hold images', async () => {
    const error = await failure(ingest(await imageOnlyPdf(), PDF));
    expect(error.code).toBe('no_text');
    expect(error.message).toBe('This PDF has no text we can read; it may be a scan. Try a PDF with selectable text.');
  });

  it('raises no_text only for a run over the whole document, not for a slice without text', async () => {
    const bytes = await textPdf([['Some text'], null, null]);
    const document = await parseDocument(bytes, PDF);
    await expect(collect(document.sections({ fromPage: 2 }))).resolves.toEqual([]);
    await document.close();
  });

  it('answers encrypted_file for a password-protected PDF', async () => {
    const bytes = encryptedPdf('secret', 'Top secret');
    // The fixture is a real encrypted PDF: with its password pdf.js reads the text.
    const unlocked = await getDocumentProxy(bytes.slice(), { password: 'secret' });
    const content = await (await unlocked.getPage(1)).getTextContent();
    expect(content.items.map((item) => ('str' in item ? item.str : ''))).toEqual(['Top secret']);
    await unlocked.loadingTask.destroy();

    const error = await failure(ingest(bytes, PDF));
    expect(error.code).toBe('encrypted_file');
    expect(error.message).toMatch(/^This PDF is password-protected\./);
  });

  it('answers corrupt_file for a PDF that cannot be opened', async () => {
    const valid = await textPdf([['Hello']]);
    for (const bytes of [utf8('%PDF-1.7\nthis is not a PDF at all'), valid.subarray(0, 40)]) {
      const error = await failure(ingest(bytes, PDF));
      expect(error.code).toBe('corrupt_file');
    }
  });

  it('refuses a PDF with more pages than maxPages when it is opened', async () => {
    const bytes = await textPdf([['a'], ['b'], ['c']]);
    const error = await failure(parseDocument(bytes, PDF, { limits: { maxPages: 2 } }));
    expect(error.code).toBe('too_many_pages');
    expect(error.message).toContain('3 pages');
  });

  it('counts the text a run extracts against maxChars', async () => {
    const bytes = await textPdf([lines(10, 'one'), lines(10, 'two')]);
    const document = await parseDocument(bytes, PDF, { limits: { maxChars: 900 } });
    const pages: number[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of chunkSections(document.sections())) pages.push(chunk.metadata.page!);
      })(),
    );
    await document.close();
    expect(error.code).toBe('too_much_text');
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.every((page) => page === 1)).toBe(true);
  });
});
