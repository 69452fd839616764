import { DOCUMENTS_BUCKET } from '../_shared/buckets.ts';
import { unwrap } from '../_shared/database-errors.ts';
import type { Embedder } from '../_shared/embeddings/index.ts';
import { chunkSections, embeddingTextOf } from '../_shared/ingest/chunk.ts';
import { IngestError } from '../_shared/ingest/errors.ts';
import { formatBytes } from '../_shared/format.ts';
import { parseDocument } from '../_shared/ingest/parse.ts';
import type { Client } from '../_shared/routes.ts';
import { WorkerFailure } from './failures.ts';
import type { ChunkRow, ClaimedDocument, ExtractProgress, HeldMessage } from './queue.ts';
import { saveChunks, saveEmbeddings } from './queue.ts';

/** How much one slice of work may do, so an invocation stays inside the edge runtime's CPU and wall-clock limits. */
export interface SliceLimits {
  /** Wall time after which an extract slice stops (at the next page boundary for PDFs). */
  sliceMs: number;
  /** Chunks an extract slice writes at most. */
  maxChunksPerSlice: number;
  /** Chunks an embed slice embeds. */
  embedBatch: number;
}

/** What the slice functions work with. */
export interface SliceDeps {
  supabase: Client;
  embedder: Embedder;
  limits: SliceLimits;
  now: () => number;
}

/** The outcome of a slice as the queue RPC reported it: `saved` (more to do), `ready`, or `superseded`. */
export type SliceResult = string;

/**
 * One extract slice: downloads the file, parses it, and stores the next chunks from the message's cursor
 * (`next_page` for PDFs, whose chunks never span pages; `next_chunk` otherwise), then queues the next slice or the
 * embed stage. Chunking is deterministic, so a slice applied twice writes the same chunks at the same positions.
 */
export async function extractSlice(
  deps: SliceDeps,
  held: HeldMessage,
  document: ClaimedDocument,
  cursor: { nextPage: number; nextChunk: number },
): Promise<SliceResult> {
  if (document.size_bytes !== null && document.size_bytes > document.max_upload_bytes) {
    // Files sent through a signed upload URL skipped the upload function's plan check.
    throw new WorkerFailure('file_too_large', `This file is larger than your plan allows (${formatBytes(document.max_upload_bytes)}). Upgrade your plan or upload a smaller file.`);
  }
  const bytes = await download(deps.supabase, document);
  const parsed = await parseDocument(bytes, document.mime_type ?? '');
  let started: number | undefined;
  const paged = parsed.pageCount !== undefined;
  const rows: ChunkRow[] = [];
  let next = { page: cursor.nextPage, chunk: cursor.nextChunk };
  let finished = true;
  let lastPage: number | undefined;
  try {
    const sections = parsed.sections(paged ? { fromPage: cursor.nextPage } : undefined);
    const chunks = chunkSections(sections, { startIndex: paged ? cursor.nextChunk : 0 });
    for await (const chunk of chunks) {
      if (!paged && chunk.index < cursor.nextChunk) continue;
      // The budget counts from the slice's first new chunk, and a slice always keeps at least that one (for a PDF,
      // its whole page): however slow the machine, every slice makes progress.
      started ??= deps.now();
      const full = rows.length > 0 && (deps.now() - started >= deps.limits.sliceMs || rows.length >= deps.limits.maxChunksPerSlice);
      // PDFs stop only between pages, so the next slice can start at a page.
      if (full && (!paged || chunk.metadata.page !== lastPage)) {
        next = { page: chunk.metadata.page ?? next.page, chunk: chunk.index };
        finished = false;
        break;
      }
      lastPage = chunk.metadata.page;
      rows.push({
        chunk_index: chunk.index,
        content: chunk.content,
        token_count: chunk.tokenCount,
        metadata: { ...chunk.metadata, context: chunk.context },
      });
      next.chunk = chunk.index + 1;
    }
  } finally {
    await parsed.close();
  }
  if (finished) {
    next.page = (parsed.pageCount ?? 0) + 1;
    if (next.chunk === 0) throw new IngestError('no_text');
  }
  const progress: ExtractProgress = {
    nextPage: next.page,
    nextChunk: next.chunk,
    extracted: finished,
    pageCount: parsed.pageCount,
    progress: paged
      ? { stage: 'extracting', done: next.page - 1, total: parsed.pageCount ?? null, unit: 'pages' }
      : { stage: 'extracting', done: next.chunk, total: finished ? next.chunk : null, unit: 'chunks' },
  };
  return saveChunks(deps.supabase, held, rows, progress);
}

/**
 * One embed slice: embeds the next chunks that have no embedding yet and stores them; the RPC marks the document
 * ready once none is left. Chunks whose embedding is already stored are never embedded twice.
 */
export async function embedSlice(deps: SliceDeps, held: HeldMessage, document: ClaimedDocument): Promise<SliceResult> {
  const rows = unwrap(
    await deps.supabase
      .from('document_chunks')
      .select('chunk_index, content, metadata')
      .eq('document_id', document.id)
      .is('embedding', null)
      .order('chunk_index')
      .limit(deps.limits.embedBatch),
  );
  const texts = rows.map((row) => embeddingTextOf(contextOf(row.metadata), row.content));
  const vectors = await deps.embedder.embed(texts);
  const embeddings = rows.map((row, i) => ({ chunk_index: row.chunk_index, embedding: vectors[i] }));
  return saveEmbeddings(deps.supabase, held, embeddings, deps.embedder);
}

function contextOf(metadata: unknown): string {
  const context = (metadata as { context?: unknown } | null)?.context;
  return typeof context === 'string' ? context : '';
}

async function download(client: Client, document: ClaimedDocument): Promise<Uint8Array> {
  const { data, error } = await client.storage.from(document.bucket_id || DOCUMENTS_BUCKET).download(document.storage_path);
  if (error) throw error;
  return new Uint8Array(await data.arrayBuffer());
}
