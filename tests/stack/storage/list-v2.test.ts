import type { SearchV2Options, SearchV2Result } from '@supabase/storage-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient } from '../../helpers/stack.ts';
import { mintRecordedUser, type RecordedUser, startStorageStack, storageError } from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;
let stranger: RecordedUser;

// Names in byte order differ from a locale's: uppercase sorts before lowercase, as upstream's `COLLATE "C"`.
const FILES = ['b.txt', 'A.txt', 'c/one.txt', 'c/two.txt', 'c/deep/three.txt', 'd/four.txt', 'e.txt'];

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
  stranger = await mintRecordedUser(stack);
  for (const name of FILES) {
    const { error } = await owner.client.storage.from('documents').upload(`${owner.id}/${name}`, new Blob([name], { type: 'text/plain' }));
    if (error) throw error;
  }
  await stranger.client.storage.from('documents').upload(`${stranger.id}/theirs.txt`, new Blob(['x'], { type: 'text/plain' }));
});
afterAll(async () => stack?.stop());

const docs = () => owner.client.storage.from('documents');

/** Every page of a listing, following `nextCursor`. */
async function allPages(options: SearchV2Options): Promise<SearchV2Result[]> {
  const pages: SearchV2Result[] = [];
  let cursor: string | undefined;
  do {
    const { data, error } = await docs().listV2({ ...options, cursor });
    expect(error).toBeNull();
    pages.push(data!);
    cursor = data!.nextCursor;
    expect(Boolean(cursor)).toBe(data!.hasNext);
  } while (cursor);
  return pages;
}

describe('listV2 (POST /object/list-v2/:bucket)', () => {
  it('lists every object under a prefix with full keys and metadata, flat, in byte order', async () => {
    const { data, error } = await docs().listV2({ prefix: `${owner.id}/` });
    expect(error).toBeNull();
    expect(data!.hasNext).toBe(false);
    expect(data!.folders).toEqual([]);
    expect(data!.objects.map((o) => o.name)).toEqual([...FILES].sort().map((f) => `${owner.id}/${f}`));
    expect(data!.objects[0]).toEqual({
      id: expect.any(String),
      name: `${owner.id}/A.txt`,
      key: `${owner.id}/A.txt`,
      metadata: expect.objectContaining({ size: 5, mimetype: 'text/plain' }),
      updated_at: expect.any(String),
      created_at: expect.any(String),
      last_accessed_at: expect.any(String),
    });
  });

  it('groups deeper objects into folders ending in "/" with with_delimiter', async () => {
    const { data } = await docs().listV2({ prefix: `${owner.id}/`, with_delimiter: true });
    expect(data!.objects.map((o) => o.name)).toEqual(['A.txt', 'b.txt', 'e.txt'].map((f) => `${owner.id}/${f}`));
    expect(data!.folders).toEqual([
      { name: `${owner.id}/c/`, key: `${owner.id}/c/` },
      { name: `${owner.id}/d/`, key: `${owner.id}/d/` },
    ]);
  });

  it('pages with a cursor, in both orders, without repeating or losing an entry', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const pages = await allPages({ prefix: `${owner.id}/`, limit: 2, sortBy: { column: 'name', order } });
      expect(pages).toHaveLength(4);
      const names = pages.flatMap((p) => p.objects.map((o) => o.name));
      const expected = [...FILES].sort().map((f) => `${owner.id}/${f}`);
      expect(names).toEqual(order === 'asc' ? expected : expected.reverse());
    }
    const delimited = await allPages({ prefix: `${owner.id}/`, limit: 2, with_delimiter: true });
    expect(delimited.flatMap((p) => [...p.objects, ...p.folders].map((e) => e.name))).toEqual(
      ['A.txt', 'b.txt', 'c/', 'd/', 'e.txt'].map((f) => `${owner.id}/${f}`),
    );
  });

  it('sorts by created_at and pages through it', async () => {
    const pages = await allPages({ prefix: `${owner.id}/`, limit: 3, sortBy: { column: 'created_at', order: 'asc' } });
    expect(pages.flatMap((p) => p.objects.map((o) => o.name))).toEqual(FILES.map((f) => `${owner.id}/${f}`));
  });

  it('shows only what RLS lets the caller see', async () => {
    const { data } = await stranger.client.storage.from('documents').listV2({});
    expect(data!.objects.map((o) => o.name)).toEqual([`${stranger.id}/theirs.txt`]);
    const all = await serviceClient(stack).storage.from('documents').listV2({ with_delimiter: true });
    expect(all.data!.folders.map((f) => f.name).sort()).toEqual([`${owner.id}/`, `${stranger.id}/`].sort());
  });

  it('refuses a cursor it did not issue and a limit below 1 with the Storage error', async () => {
    await docs().listV2({ cursor: 'not-a-cursor' });
    expect(owner.errors.last).toEqual(storageError('400', 'InvalidParameter', 'InvalidParameter', 'Invalid Parameter continuation token'));
    await docs().listV2({ limit: 0 });
    expect(owner.errors.last).toEqual(storageError('400', 'InvalidRequest', 'Bad Request', 'body/limit must be >= 1'));
  });
});

describe('info()', () => {
  it('returns the user metadata sent after the file in a FormData, as storage-js appends it', async () => {
    const form = new FormData();
    form.append('', new Blob(['form'], { type: 'text/plain' }), 'form.txt');
    const path = `${owner.id}/form.txt`;
    expect((await docs().upload(path, form, { metadata: { source: 'form', n: 1 } })).error).toBeNull();
    const { data, error } = await docs().info(path);
    expect(error).toBeNull();
    expect(data).toMatchObject({ name: path, size: 4, contentType: 'text/plain', metadata: { source: 'form', n: 1 } });
  });
});
