import type { Stack } from '../../../stack/index.ts';

/** A `documents` row as the worker leaves it. */
export interface DocumentState {
  status: string;
  chunk_count: number;
  error_code: string | null;
  error: string | null;
  progress: unknown;
  page_count: number | null;
  embedder: string | null;
  embedding_dimensions: number | null;
  generation: number;
  attempts: number;
}

/** The document's processing state, read as postgres. */
export async function documentState(stack: Stack, id: string): Promise<DocumentState> {
  const { rows } = await stack.db.query<DocumentState>(
    `select status::text, chunk_count, error_code, error, progress, page_count, embedder, embedding_dimensions, generation, attempts
       from public.documents where id = $1`,
    [id],
  );
  if (!rows[0]) throw new Error(`document ${id} does not exist`);
  return rows[0];
}

/** Waits (polling) until the document is `ready` or `failed`, as the pipeline gets to it on its own. */
export async function settled(stack: Stack, id: string, timeoutMs = 30_000): Promise<DocumentState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await documentState(stack, id);
    if (state.status === 'ready' || state.status === 'failed') return state;
    if (Date.now() > deadline) throw new Error(`document ${id} still ${state.status} after ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The document's chunks in order, with whether each has its embedding. */
export async function chunksOf(
  stack: Stack,
  id: string,
): Promise<Array<{ chunk_index: number; content: string; metadata: Record<string, unknown>; embedded: boolean }>> {
  const { rows } = await stack.db.query(
    `select chunk_index, content, metadata, embedding is not null as embedded
       from public.document_chunks where document_id = $1 order by chunk_index`,
    [id],
  );
  return rows;
}

/** Calls the worker function once, as pg_net does (the secret key as bearer and apikey). */
export async function runWorker(stack: Stack): Promise<{ handled: Array<Record<string, unknown>>; reembedding: number; stopped: string }> {
  const response = await fetch(`${stack.apiUrl}/functions/v1/worker`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.keys.secret}`, apikey: stack.keys.secret, 'content-type': 'application/json' },
    body: '{}',
  });
  if (response.status !== 200) throw new Error(`worker answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/** Makes every queued message visible now, as if leases and backoffs had run out. */
export async function expireLeases(stack: Stack): Promise<void> {
  await stack.db.query('update pgmq.q_document_ingestion set vt = now()');
}
