import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient, signUpUser, startTestStack, type TestUser } from '../../helpers/stack.ts';
import { sentences, textPdf } from '../_shared/ingest/fixtures.ts';
import { uploadFile } from '../upload/helpers.ts';
import { chunksOf, documentState, expireLeases, runWorker } from './helpers.ts';

// The queue's promises, with time in the test's hands: no scheduler (nothing runs unless the test calls the
// worker), one message per call, small extract slices. Leases and backoffs are "run out" by making messages
// visible now, which is what their expiry does.
let stack: Stack;
let user: TestUser;

beforeAll(async () => {
  stack = await startTestStack({
    seed: false,
    scheduler: false,
    functions: { env: { WORKER_CONCURRENCY: '1', WORKER_BUDGET_MS: '1', WORKER_MAX_CHUNKS_PER_SLICE: '40', WORKER_EMBED_BATCH: '64' } },
  });
  user = await signUpUser(stack, 'queue');
});
afterAll(async () => {
  await stack?.stop();
});

async function upload(name: string, content: string | Uint8Array, type = 'text/plain'): Promise<string> {
  const response = await uploadFile(stack, user, name, content, { type });
  expect(response.status).toBe(202);
  return (await response.json()).id;
}

/** Calls the worker until the document is ready or failed, collecting what each call left as progress. */
async function drive(id: string, maxCalls = 100): Promise<unknown[]> {
  const seen: unknown[] = [];
  for (let i = 0; i < maxCalls; i++) {
    await runWorker(stack);
    const state = await documentState(stack, id);
    seen.push(state.progress);
    if (state.status === 'ready' || state.status === 'failed') return seen;
  }
  throw new Error(`document ${id} not done after ${maxCalls} worker calls`);
}

/** A worker that claims a message and dies without a word: the lease it took is all that is left of it. */
async function claimAndDie(): Promise<number> {
  const { data, error } = await serviceClient(stack).rpc('ingestion_claim', { batch: 1, lease_seconds: 600 });
  expect(error).toBeNull();
  expect(data).toHaveLength(1);
  return data![0].msg_id;
}

describe('a worker that dies mid-slice loses nothing', () => {
  it('the message reappears when its lease runs out and completes, with exactly one set of chunks', async () => {
    const id = await upload('crash.txt', sentences(80, 'crash'));
    await claimAndDie();
    expect((await runWorker(stack)).handled).toEqual([]);
    expect(await documentState(stack, id)).toMatchObject({ status: 'processing', attempts: 1 });

    await expireLeases(stack);
    await drive(id);
    const state = await documentState(stack, id);
    expect(state).toMatchObject({ status: 'ready' });
    const chunks = await chunksOf(stack, id);
    expect(chunks.map((c) => c.chunk_index)).toEqual([...Array(state.chunk_count).keys()]);
    expect(new Set(chunks.map((c) => c.content)).size).toBe(chunks.length);
  });
});

describe('a poison message', () => {
  it('is retried with backoff, then archived after the fifth attempt and its document failed', async () => {
    const id = await upload('poison.txt', 'fine text');
    // The file disappears from under the row (as if Storage lost it): every download fails.
    await stack.db.query("update public.documents set storage_path = $2 where id = $1", [id, `${user.id}/nowhere.txt`]);
    const outcomes: unknown[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const { handled } = await runWorker(stack);
      outcomes.push(handled.map((h) => h.outcome));
      if (attempt < 5) {
        const { rows } = await stack.db.query("select extract(epoch from vt - now()) as wait from pgmq.q_document_ingestion where message ->> 'document_id' = $1", [id]);
        // Backoff 10, 20, 40, 80 s before attempts 2–5.
        expect(Number(rows[0].wait)).toBeGreaterThan(10 * 2 ** (attempt - 1) - 5);
        expect(await documentState(stack, id)).toMatchObject({ status: 'queued', error_code: 'processing_error' });
        await expireLeases(stack);
      }
    }
    expect(outcomes).toEqual([['retrying'], ['retrying'], ['retrying'], ['retrying'], ['failed']]);
    expect(await documentState(stack, id)).toMatchObject({
      status: 'failed',
      attempts: 5,
      error_code: 'processing_error',
      error: 'Something went wrong while processing this file; it will be retried.',
    });
    const archived = await stack.db.query("select read_ct from pgmq.a_document_ingestion where message ->> 'document_id' = $1", [id]);
    expect(archived.rows).toEqual([{ read_ct: 5 }]);
    expect((await stack.db.query("select 1 from pgmq.q_document_ingestion where message ->> 'document_id' = $1", [id])).rows).toEqual([]);
  });
});

describe('new work supersedes work in flight', () => {
  it('a replaced file is processed from its new content; the old in-flight message is never applied', async () => {
    const id = await upload('replace.txt', 'the old content about owls');
    await claimAndDie();
    const { error } = await user.client.storage
      .from('documents')
      .update(`${user.id}/replace.txt`, new Blob(['the new content about foxes'], { type: 'text/plain' }), { contentType: 'text/plain' });
    expect(error).toBeNull();
    expect(await documentState(stack, id)).toMatchObject({ status: 'queued', generation: 1 });
    await expireLeases(stack);
    await drive(id);
    expect(await documentState(stack, id)).toMatchObject({ status: 'ready', generation: 1 });
    expect((await chunksOf(stack, id)).map((c) => c.content)).toEqual(['the new content about foxes']);
  });

  it('a document embedded by another model is embedded again, never mixing vector spaces', async () => {
    const id = await upload('reembed.txt', sentences(10, 'models'));
    await drive(id);
    const before = await documentState(stack, id);
    await stack.db.query("update public.documents set embedder = 'openai:text-embedding-3-small' where id = $1", [id]);
    // One call queues it again (a new generation, embeddings dropped) and, the queue being short, embeds it.
    const { reembedding, handled } = await runWorker(stack);
    expect(reembedding).toBe(1);
    expect(handled).toEqual([{ msg_id: expect.any(Number), kind: 'document', document_id: id, stage: 'embed', outcome: 'ready' }]);
    expect(await documentState(stack, id)).toMatchObject({
      status: 'ready',
      generation: before.generation + 1,
      embedder: 'hash-dev-v1',
      chunk_count: before.chunk_count,
    });
    expect((await chunksOf(stack, id)).every((c) => c.embedded)).toBe(true);
  });
});

describe('a long PDF', () => {
  it('is processed in slices across many invocations, its progress visible in between', async () => {
    const pages = Array.from({ length: 300 }, (_, i) => [`Page ${i + 1} talks about topic ${i + 1}.`, sentences(2, `page ${i + 1}`).slice(0, 80)]);
    const id = await upload('long.pdf', await textPdf(pages), 'application/pdf');
    const progress = await drive(id, 60);
    expect(progress[0]).toEqual({ stage: 'extracting', done: 40, total: 300, unit: 'pages' });
    expect(progress).toContainEqual({ stage: 'embedding', done: 64, total: 300, unit: 'chunks' });
    expect(progress[progress.length - 1]).toBeNull();
    const state = await documentState(stack, id);
    expect(state).toMatchObject({ status: 'ready', page_count: 300, chunk_count: 300 });
    const chunks = await chunksOf(stack, id);
    expect(chunks.map((c) => c.metadata.page)).toEqual(pages.map((_, i) => i + 1));
    expect(chunks.map((c) => c.chunk_index)).toEqual(pages.map((_, i) => i));
  });
});
