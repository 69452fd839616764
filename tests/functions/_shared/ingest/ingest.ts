import { type Chunk, type ChunkOptions, chunkSections } from '../../../../supabase/functions/_shared/ingest/chunk.ts';
import { parseDocument } from '../../../../supabase/functions/_shared/ingest/parse.ts';
import type { ParsedDocument, Section, SectionRange } from '../../../../supabase/functions/_shared/ingest/types.ts';

/** What one parse-and-chunk run produced, as plain data (the same under Node and Deno). */
export interface IngestResult {
  format: string;
  pageCount?: number;
  text?: string;
  sections: Section[];
  chunks: Chunk[];
}

/** Parses a document and chunks it (from `range.fromPage` for PDFs), collecting everything. */
export async function ingest(bytes: Uint8Array, mimeType: string, range: SectionRange = {}, options: ChunkOptions = {}): Promise<IngestResult> {
  const document = await parseDocument(bytes, mimeType);
  try {
    const sections = await collect(document.sections(range));
    const chunks = await collect(chunkSections(document.sections(range), options));
    return { format: document.format, pageCount: document.pageCount, text: document.text, sections, chunks };
  } finally {
    await document.close();
  }
}

/** Everything an (async) iterable yields. */
export async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The source text a chunk's offsets refer to: the page's section text for PDFs, the whole text otherwise. */
export function sourceOf(result: { text?: string; sections: Section[] }, chunk: Chunk): string {
  if (chunk.metadata.page === undefined) return result.text!;
  return result.sections.find((section) => section.page === chunk.metadata.page)!.text;
}

/** Parses and returns the sections of a document that is not a PDF. */
export async function sectionsOf(document: ParsedDocument): Promise<Section[]> {
  return collect(document.sections());
}

/** What a piece of work comes to as plain data (what JSON carries), or the error's code and message. */
export async function outcome(work: () => Promise<unknown>): Promise<unknown> {
  try {
    return JSON.parse(JSON.stringify(await work()));
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { error: { code, message } };
  }
}
