import { z } from 'zod';
import { unwrap } from '../_shared/database-errors.ts';
import type { Client } from '../_shared/routes.ts';

// Typed calls of the queue RPCs (migration `create_ingestion_worker_api`); every one is a single transaction.

/** A `documents` row as the claim returns it, with the owner's plan limit for files that skipped the upload checks. */
export const ClaimedDocumentSchema = z.object({
  id: z.uuid(),
  owner_id: z.uuid(),
  bucket_id: z.string(),
  storage_path: z.string(),
  name: z.string(),
  mime_type: z.string().nullable(),
  size_bytes: z.number().nullable(),
  generation: z.number().int(),
  chunk_count: z.number().int(),
  page_count: z.number().int().nullable(),
  max_upload_bytes: z.number(),
});
export type ClaimedDocument = z.infer<typeof ClaimedDocumentSchema>;

const DocumentMessageSchema = z.object({
  kind: z.literal('document'),
  document_id: z.uuid(),
  generation: z.number().int(),
  stage: z.enum(['extract', 'embed']),
  next_page: z.number().int().min(1),
  next_chunk: z.number().int().min(0),
});
const PurgeMessageSchema = z.object({ kind: z.literal('purge_user_files'), user_id: z.uuid() });

/** One leased message: work on a document (with the document), or a user's files to purge. */
export type Claimed =
  | { msgId: number; readCt: number; kind: 'document'; message: z.infer<typeof DocumentMessageSchema>; document: ClaimedDocument }
  | { msgId: number; readCt: number; kind: 'purge_user_files'; message: z.infer<typeof PurgeMessageSchema> }
  | { msgId: number; readCt: number; kind: 'unknown'; message: unknown };

/** Leases up to `batch` messages for `leaseSeconds`; superseded and exhausted ones never come back from here. */
export async function claim(client: Client, batch: number, leaseSeconds: number): Promise<Claimed[]> {
  const rows = unwrap(await client.rpc('ingestion_claim', { batch, lease_seconds: leaseSeconds })) ?? [];
  return rows.map((row): Claimed => {
    const base = { msgId: row.msg_id, readCt: row.read_ct };
    const purge = PurgeMessageSchema.safeParse(row.message);
    if (purge.success) return { ...base, kind: 'purge_user_files', message: purge.data };
    const work = DocumentMessageSchema.safeParse(row.message);
    const document = ClaimedDocumentSchema.safeParse(row.document);
    if (work.success && document.success) return { ...base, kind: 'document', message: work.data, document: document.data };
    return { ...base, kind: 'unknown', message: row.message };
  });
}

/** A chunk as `ingestion_save_chunks` stores it. */
export interface ChunkRow {
  chunk_index: number;
  content: string;
  token_count: number;
  metadata: Record<string, unknown>;
}

/** What comes after an extract slice: more extraction from `nextPage`/`nextChunk`, or (`extracted`) embedding. */
export interface ExtractProgress {
  nextPage: number;
  nextChunk: number;
  extracted: boolean;
  progress: { stage: 'extracting'; done: number; total: number | null; unit: 'pages' | 'chunks' };
  pageCount?: number;
}

/** Stores a slice of chunks and queues what comes next, in one transaction. */
export async function saveChunks(client: Client, held: HeldMessage, chunks: ChunkRow[], next: ExtractProgress): Promise<string> {
  return unwrap(
    await client.rpc('ingestion_save_chunks', {
      ...held,
      chunks: chunks as never,
      next_page: next.nextPage,
      next_chunk: next.nextChunk,
      extracted: next.extracted,
      progress: next.progress,
      page_count: next.pageCount,
    }),
  );
}

/** Stores a slice of embeddings; answers `ready` once every chunk has one. */
export async function saveEmbeddings(
  client: Client,
  held: HeldMessage,
  embeddings: Array<{ chunk_index: number; embedding: number[] }>,
  embedder: { id: string; dimensions: number },
): Promise<string> {
  return unwrap(
    await client.rpc('ingestion_save_embeddings', {
      ...held,
      embeddings: embeddings.map((e) => ({ chunk_index: e.chunk_index, embedding: JSON.stringify(e.embedding) })),
      embedder: embedder.id,
      dimensions: embedder.dimensions,
    }),
  );
}

/** Records a failed attempt: `retrying` (backoff), `failed` (archived, document failed) or `superseded`. */
export async function fail(
  client: Client,
  held: HeldMessage | { msg_id: number; document_id: null; generation: null },
  error: { code: string; message: string; retryable: boolean },
): Promise<string> {
  return unwrap(
    await client.rpc('ingestion_fail', {
      msg_id: held.msg_id,
      document_id: held.document_id as string,
      generation: held.generation as number,
      error_code: error.code,
      error: error.message,
      retryable: error.retryable,
    }),
  );
}

/** Deletes a message that is done. */
export async function ack(client: Client, msgId: number): Promise<void> {
  unwrap(await client.rpc('ingestion_ack', { msg_id: msgId }));
}

/** Wakes another worker invocation through pg_net if a message is visible (this one is stopping). */
export async function kick(client: Client): Promise<void> {
  unwrap(await client.rpc('ingestion_kick'));
}

/** Queues ready documents embedded with another model for re-embedding; returns how many. */
export async function reembedStale(client: Client, embedderId: string, batch: number): Promise<number> {
  return (unwrap(await client.rpc('ingestion_reembed_stale', { embedder: embedderId, batch })) ?? []).length;
}

/** The message a worker holds, as the RPCs identify it. */
export interface HeldMessage {
  msg_id: number;
  document_id: string;
  generation: number;
}
