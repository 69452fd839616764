import { describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { createEmbedder } from '../../../supabase/functions/_shared/embeddings/index.ts';
import type { Client } from '../../../supabase/functions/_shared/routes.ts';
import { extractSlice } from '../../../supabase/functions/worker/ingest.ts';
import { testClient } from '../../helpers/stack.ts';
import { sentences, textPdf } from '../_shared/ingest/fixtures.ts';

// One extract slice in process, with Storage and the queue RPC faked at the HTTP edge and a clock that jumps:
// however slow the machine, every slice saves at least one chunk (for a PDF, a whole page) and moves its cursor.
const logger = { log() {}, child() { return logger; } };

async function slice(bytes: Uint8Array, mimeType: string, cursor: { nextPage: number; nextChunk: number }) {
  const saved: Array<{ chunks: Array<{ chunk_index: number; metadata: { page?: number } }>; next_page: number; next_chunk: number; extracted: boolean }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(new Request(input, init).url);
    if (url.pathname.startsWith('/storage/v1/object/')) return new Response(bytes as BodyInit, { status: 200 });
    if (url.pathname === '/rest/v1/rpc/ingestion_save_chunks') {
      saved.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify('saved'), { status: 200, headers: { 'content-type': 'application/json' } });
    }
    return new Response('{}', { status: 500 });
  };
  const supabase = testClient({ apiUrl: 'http://fake.local', keys: { publishable: 'k' } } as Stack, { fetch }) as unknown as Client;
  let clock = 0;
  const deps = {
    supabase,
    embedder: await createEmbedder({ provider: 'hash' }, { logger }),
    // Every reading of the clock is a second later: the 1 ms budget is always spent.
    now: () => (clock += 1000),
    limits: { sliceMs: 1, maxChunksPerSlice: 200, embedBatch: 64 },
  };
  const document = {
    id: '0b9f6c1e-8a51-4d7c-9a3e-5f2b1c0d9e8a',
    owner_id: '6f1d2a7c-2b1e-4c55-9a43-0c8f1f1b2d3e',
    bucket_id: 'documents',
    storage_path: 'x/doc',
    name: 'doc',
    mime_type: mimeType,
    size_bytes: bytes.length,
    generation: 0,
    chunk_count: 0,
    page_count: null,
    max_upload_bytes: 10 * 1024 * 1024,
  };
  await extractSlice(deps, { msg_id: 1, document_id: document.id, generation: 0 }, document, cursor);
  return saved[0];
}

describe('an extract slice on a machine too slow for its budget', () => {
  it('still saves the next chunk of a text document and moves the cursor past it', async () => {
    const text = new TextEncoder().encode(sentences(400, 'slow'));
    const first = await slice(text, 'text/plain', { nextPage: 1, nextChunk: 0 });
    expect(first.chunks.map((c) => c.chunk_index)).toEqual([0]);
    expect([first.next_chunk, first.extracted]).toEqual([1, false]);
    const later = await slice(text, 'text/plain', { nextPage: 1, nextChunk: 5 });
    expect(later.chunks.map((c) => c.chunk_index)).toEqual([5]);
    expect(later.next_chunk).toBe(6);
  });

  it('still saves a whole PDF page and starts the next slice at the next page', async () => {
    const pdf = await textPdf([['Page one text.'], ['Page two text.'], ['Page three text.']]);
    const first = await slice(pdf, 'application/pdf', { nextPage: 1, nextChunk: 0 });
    expect(first.chunks.map((c) => c.metadata.page)).toEqual([1]);
    expect([first.next_page, first.next_chunk, first.extracted]).toEqual([2, 1, false]);
  });
});
