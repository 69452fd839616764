import type { Stack } from '../../../stack/index.ts';
import type { TestUser } from '../../helpers/stack.ts';

/** One part of a hand-built multipart body. */
export interface Part {
  name: string;
  /** Present for file parts; written raw (UTF-8) into the Content-Disposition header. */
  filename?: string;
  contentType?: string;
  content: string | Uint8Array;
}

export const BOUNDARY = '----edgebrain-test-boundary-7MA4YWxkTrZu0gW';

/**
 * A `multipart/form-data` body built byte by byte, so tests control exactly what the function receives (raw
 * UTF-8 file names, control characters, missing or extra parts, a truncated end).
 */
export function multipartBody(parts: Part[], options: { truncate?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(encoder.encode(`${head}\r\n`));
    chunks.push(typeof part.content === 'string' ? encoder.encode(part.content) : part.content);
    chunks.push(encoder.encode('\r\n'));
  }
  if (!options.truncate) chunks.push(encoder.encode(`--${BOUNDARY}--\r\n`));
  return concat(chunks);
}

export function concat(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** A minimal valid one-page PDF saying "Hello", with a correct cross-reference table. */
export function tinyPdf(text = 'Hello'): Uint8Array {
  const stream = `BT /F1 24 Tf 72 720 Td (${text}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  // A binary comment on line 2, as the PDF spec recommends, so the file is not mistaken for text.
  let pdf = '%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  // Latin-1: one byte per character, so the offsets above are byte offsets.
  return Uint8Array.from(pdf, (ch) => ch.charCodeAt(0));
}

/** Bytes that start like a DOCX (a ZIP local file header for `[Content_Types].xml`). */
export function docxLike(): Uint8Array {
  const name = '[Content_Types].xml';
  const header = [0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, name.length, 0, 0, 0];
  return concat([Uint8Array.from(header), new TextEncoder().encode(name), new Uint8Array(16)]);
}

/** POSTs a body to the upload function as `user`. */
export function postUpload(
  stack: Stack,
  token: string | undefined,
  body: BodyInit,
  options: { contentType?: string; query?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.contentType) headers['content-type'] = options.contentType;
  return fetch(`${stack.apiUrl}/functions/v1/upload${options.query ?? ''}`, {
    method: 'POST',
    headers,
    body,
    duplex: 'half',
  } as RequestInit);
}

/** Uploads one file through the function the way a browser's FormData does. */
export function uploadFile(
  stack: Stack,
  user: TestUser,
  name: string,
  content: string | Uint8Array,
  options: { type?: string; query?: string } = {},
): Promise<Response> {
  const form = new FormData();
  form.append('file', new Blob([content as BlobPart], { type: options.type ?? 'text/plain' }), name);
  return postUpload(stack, user.token, form, { query: options.query });
}

/** What exists in each place a document lives: objects in bucket `documents`, `documents` rows, chunks, queued messages. */
export interface DocumentsState {
  objects: string[];
  documents: string[];
  chunks: number;
  /** Messages of the `document_ingestion` queue (Supabase Queues) for the documents. */
  messages: number;
}

/** What exists for a user in each place a document lives: objects, rows, chunks, queued messages. */
export function userState(stack: Stack, userId: string): Promise<DocumentsState> {
  return documentsState(stack, userId);
}

/** What exists for everyone in each place a document lives: every object, row, chunk and queued message. */
export function allState(stack: Stack): Promise<DocumentsState> {
  return documentsState(stack);
}

async function documentsState(stack: Stack, userId?: string): Promise<DocumentsState> {
  // Without a user, `$1` is null and every filter below admits every row.
  const owner = [userId ?? null];
  const objects = await stack.db.query<{ name: string }>(
    "select name from storage.objects where bucket_id = 'documents' and ($1::text is null or name like $1::text || '/%') order by name",
    owner,
  );
  const documents = await stack.db.query<{ storage_path: string }>(
    'select storage_path from public.documents where $1::uuid is null or owner_id = $1::uuid order by storage_path',
    owner,
  );
  const chunks = await stack.db.query<{ n: number }>(
    'select count(*)::int as n from public.document_chunks where $1::uuid is null or owner_id = $1::uuid',
    owner,
  );
  // A message of a deleted document has no row to join: counted for everyone, as an orphan would be.
  const messages = await stack.db.query<{ n: number }>(
    `select count(*)::int as n from pgmq.q_document_ingestion q
       left join public.documents d on d.id = (q.message ->> 'document_id')::uuid
      where $1::uuid is null or d.owner_id = $1::uuid`,
    owner,
  );
  return {
    objects: objects.rows.map((r) => r.name),
    documents: documents.rows.map((r) => r.storage_path),
    chunks: chunks.rows[0].n,
    messages: messages.rows[0].n,
  };
}

/** The queued messages for a document: the processing stage and the document generation each is for. */
export async function messagesFor(stack: Stack, documentId: string): Promise<Array<{ stage: string; generation: number }>> {
  const { rows } = await stack.db.query<{ stage: string; generation: number }>(
    `select message ->> 'stage' as stage, (message ->> 'generation')::int as generation
       from pgmq.q_document_ingestion where message ->> 'document_id' = $1 order by msg_id`,
    [documentId],
  );
  return rows;
}
