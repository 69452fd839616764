import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { mintUser, type TestUser, testClient } from '../../helpers/stack.ts';
import { objectNames, startStorageStack } from './helpers.ts';

// A persistent data directory, so the test can look at the bytes on disk and restart the stack on them.
let dataDir: string;
let stack: Stack;
let owner: TestUser;

const storageDir = () => join(dataDir, 'storage');

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'edgebrain-storage-'));
  stack = await startStorageStack({ ephemeral: false, dataDir });
  owner = await mintUser(stack, { prefix: 'storage' });
});
afterAll(async () => {
  await stack?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

it('leaves neither a row nor a file when the client aborts an upload halfway', async () => {
  const kept = await owner.client.storage.from('documents').upload(`${owner.id}/kept.pdf`, Buffer.from('%PDF kept'), {
    contentType: 'application/pdf',
  });
  expect(kept.error).toBeNull();
  const before = await filesUnder(join(storageDir(), 'objects'));
  expect(before).toHaveLength(1);

  let streamController!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      streamController = controller;
      controller.enqueue(new Uint8Array(256 * 1024).fill(37));
    },
  });
  const upload = owner.client.storage
    .from('documents')
    .upload(`${owner.id}/aborted.pdf`, body, { contentType: 'application/pdf', duplex: 'half' } as never)
    .catch((error: unknown) => ({ data: null, error }));
  // Wait until the server is really writing the bytes (past the permission test), then cut the request.
  await vi.waitFor(
    async () => {
      const partial = await filesUnder(join(storageDir(), 'tmp'));
      expect(partial).toHaveLength(1);
    },
    { timeout: 30_000, interval: 20 },
  );
  streamController.enqueue(new Uint8Array(64 * 1024).fill(37));
  streamController.error(new Error('client went away'));
  const result = await upload;
  expect(result.data).toBeNull();

  await vi.waitFor(async () => expect(await filesUnder(join(storageDir(), 'tmp'))).toEqual([]), { timeout: 30_000, interval: 20 });
  expect(await objectNames(stack, 'documents')).toEqual([`${owner.id}/kept.pdf`]);
  expect(await filesUnder(join(storageDir(), 'objects'))).toEqual(before);
});

it('sweeps unfinished uploads and unreferenced files at start, keeping committed objects', async () => {
  const orphanVersion = randomUUID();
  await mkdir(join(storageDir(), 'objects', orphanVersion.slice(0, 2)), { recursive: true });
  await writeFile(join(storageDir(), 'objects', orphanVersion.slice(0, 2), orphanVersion), 'crashed before commit');
  await writeFile(join(storageDir(), 'tmp', `${randomUUID()}.part`), 'crashed while receiving');
  await stack.stop();

  stack = await startStorageStack({ ephemeral: false, dataDir });
  expect(await filesUnder(join(storageDir(), 'tmp'))).toEqual([]);
  const objects = await filesUnder(join(storageDir(), 'objects'));
  expect(objects).toHaveLength(1);
  expect(objects[0]).not.toContain(orphanVersion);
  // The restarted gateway listens on a new port: a new client, same user and token.
  const { data } = await testClient(stack, { accessToken: owner.token }).storage.from('documents').download(`${owner.id}/kept.pdf`);
  expect(await data!.text()).toBe('%PDF kept');
});
