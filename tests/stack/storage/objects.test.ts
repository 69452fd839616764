import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient } from '../../helpers/stack.ts';
import {
  DUPLICATE_KEY,
  mintRecordedUser,
  NO_SUCH_KEY,
  objectNames,
  type RecordedUser,
  responseOf,
  startStorageStack,
  storageFetch,
} from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
});
afterAll(async () => stack?.stop());

const docs = () => owner.client.storage.from('documents');
const path = (name: string) => `${owner.id}/${name}`;

describe('upload and download', () => {
  it('stores a Blob sent as multipart and returns its id and full path', async () => {
    const { data, error } = await docs().upload(path('hello.txt'), new Blob(['hello world'], { type: 'text/plain' }), {
      cacheControl: '120',
      metadata: { purpose: 'greeting' },
    });
    expect(error).toBeNull();
    expect(data).toEqual({ path: path('hello.txt'), id: expect.any(String), fullPath: `documents/${path('hello.txt')}` });

    const download = await docs().download(path('hello.txt'));
    expect(download.error).toBeNull();
    expect(await download.data!.text()).toBe('hello world');
    expect(download.data!.type).toBe('text/plain');

    const info = await docs().info(path('hello.txt'));
    expect(info.error).toBeNull();
    expect(info.data).toEqual({
      id: data!.id,
      name: path('hello.txt'),
      version: expect.any(String),
      bucketId: 'documents',
      size: 11,
      contentType: 'text/plain',
      cacheControl: 'max-age=120',
      etag: '"5eb63bbbe01eeed093cb22bb8f5acdc3"',
      metadata: { purpose: 'greeting' },
      lastModified: expect.any(String),
      createdAt: expect.any(String),
    });
  });

  it('stores a raw body with its content-type, cache-control and x-metadata', async () => {
    const { error } = await docs().upload(path('raw.pdf'), Buffer.from('%PDF-1.4 raw'), {
      contentType: 'application/pdf',
      cacheControl: '60',
      metadata: { pages: 1 },
    });
    expect(error).toBeNull();
    const res = await storageFetch(stack, `/object/documents/${path('raw.pdf')}`, { token: owner.token });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('cache-control')).toBe('max-age=60');
    expect(res.headers.get('content-length')).toBe('12');
    expect(await res.text()).toBe('%PDF-1.4 raw');
    expect((await docs().info(path('raw.pdf'))).data).toMatchObject({ metadata: { pages: 1 }, contentType: 'application/pdf' });
  });

  it('returns 400 with statusCode "409" when the key exists and upsert is off, and keeps the first bytes', async () => {
    await docs().upload(path('dup.txt'), new Blob(['first'], { type: 'text/plain' }));
    const { error } = await docs().upload(path('dup.txt'), new Blob(['second'], { type: 'text/plain' }));
    expect(error).toMatchObject({ status: 400, statusCode: '409', message: 'The resource already exists' });
    expect(owner.errors.last).toEqual(DUPLICATE_KEY);
    expect(await (await docs().download(path('dup.txt'))).data!.text()).toBe('first');
  });

  it('replaces the bytes with x-upsert and with update()', async () => {
    await docs().upload(path('up.txt'), new Blob(['one'], { type: 'text/plain' }));
    const first = await docs().info(path('up.txt'));
    expect((await docs().upload(path('up.txt'), new Blob(['two'], { type: 'text/plain' }), { upsert: true })).error).toBeNull();
    expect(await (await docs().download(path('up.txt'))).data!.text()).toBe('two');
    const updated = await docs().update(path('up.txt'), new Blob(['three!'], { type: 'text/plain' }));
    expect(updated.error).toBeNull();
    expect(updated.data!.id).toBe(first.data!.id);
    const info = await docs().info(path('up.txt'));
    expect(info.data!.size).toBe(6);
    expect(info.data!.version).not.toBe(first.data!.version);
  });

  it('serves byte ranges with 206 and Content-Range, and refuses unsatisfiable ones with HTTP 416', async () => {
    await docs().upload(path('range.txt'), new Blob(['0123456789'], { type: 'text/plain' }));
    const partial = await storageFetch(stack, `/object/documents/${path('range.txt')}`, {
      token: owner.token,
      headers: { range: 'bytes=2-5' },
    });
    expect(partial.status).toBe(206);
    expect(partial.headers.get('content-range')).toBe('bytes 2-5/10');
    expect(await partial.text()).toBe('2345');
    const suffix = await storageFetch(stack, `/object/documents/${path('range.txt')}`, {
      token: owner.token,
      headers: { range: 'bytes=-3' },
    });
    expect(await suffix.text()).toBe('789');
    const bad = await storageFetch(stack, `/object/documents/${path('range.txt')}`, {
      token: owner.token,
      headers: { range: 'bytes=20-30' },
    });
    expect(await responseOf(bad)).toEqual({
      status: 416,
      body: { statusCode: '416', code: 'InvalidRange', error: 'invalid_range', message: 'invalid range provided' },
    });
  });

  it('reports existence with HEAD: true for an object, false for a missing one', async () => {
    await docs().upload(path('here.txt'), new Blob(['x'], { type: 'text/plain' }));
    expect(await docs().exists(path('here.txt'))).toEqual({ data: true, error: null });
    const missing = await docs().exists(path('nowhere.txt'));
    expect(missing.data).toBe(false);
  });

  it('returns 400 with statusCode "404" NoSuchKey for a missing object', async () => {
    const { error } = await docs().download(path('missing.txt'));
    expect(error).toMatchObject({ status: 400, statusCode: '404' });
    expect(owner.errors.last).toEqual(NO_SUCH_KEY);
  });
});

describe('list', () => {
  beforeAll(async () => {
    for (const name of ['b.txt', 'a.txt', 'c.txt', 'sub/one.txt', 'sub/deeper/two.txt', 'Apple.txt']) {
      const { error } = await docs().upload(`${owner.id}/list/${name}`, new Blob([name], { type: 'text/plain' }));
      expect(error).toBeNull();
    }
  });

  it('lists the files and folders directly under a prefix, sorted by name', async () => {
    const { data, error } = await docs().list(`${owner.id}/list`);
    expect(error).toBeNull();
    expect(data!.map((e) => [e.name, e.id === null])).toEqual([
      ['a.txt', false],
      ['Apple.txt', false],
      ['b.txt', false],
      ['c.txt', false],
      ['sub', true],
    ]);
    const file = data!.find((e) => e.name === 'a.txt')!;
    expect(file.metadata).toMatchObject({ size: 5, mimetype: 'text/plain', eTag: expect.any(String) });
    const folder = data!.find((e) => e.name === 'sub')!;
    expect(folder).toEqual({ name: 'sub', id: null, updated_at: null, created_at: null, last_accessed_at: null, metadata: null });
  });

  it('pages with limit and offset, sorts descending and filters with search', async () => {
    const page = await docs().list(`${owner.id}/list`, { limit: 2, offset: 1 });
    expect(page.data!.map((e) => e.name)).toEqual(['Apple.txt', 'b.txt']);
    const desc = await docs().list(`${owner.id}/list`, { sortBy: { column: 'name', order: 'desc' } });
    expect(desc.data!.map((e) => e.name)).toEqual(['sub', 'c.txt', 'b.txt', 'Apple.txt', 'a.txt']);
    const search = await docs().list(`${owner.id}/list`, { search: 'a' });
    expect(search.data!.map((e) => e.name)).toEqual(['a.txt', 'Apple.txt']);
    const byCreated = await docs().list(`${owner.id}/list`, { sortBy: { column: 'created_at', order: 'asc' } });
    expect(byCreated.data!.map((e) => e.name)).toEqual(['sub', 'b.txt', 'a.txt', 'c.txt', 'Apple.txt']);
  });

  it('lists a nested folder', async () => {
    const { data } = await docs().list(`${owner.id}/list/sub`);
    expect(data!.map((e) => e.name)).toEqual(['deeper', 'one.txt']);
  });
});

describe('remove, move and copy', () => {
  it('removes objects and their bytes, returning the deleted rows', async () => {
    await docs().upload(path('rm1.txt'), new Blob(['1'], { type: 'text/plain' }));
    await docs().upload(path('rm2.txt'), new Blob(['2'], { type: 'text/plain' }));
    const { data, error } = await docs().remove([path('rm1.txt'), path('rm2.txt'), path('never.txt')]);
    expect(error).toBeNull();
    expect(data!.map((r) => r.name).sort()).toEqual([path('rm1.txt'), path('rm2.txt')]);
    expect(data![0]).toMatchObject({ bucket_id: 'documents', owner: owner.id, owner_id: owner.id });
    expect(await objectNames(stack, 'documents')).not.toContain(path('rm1.txt'));
  });

  it('moves an object within the caller’s folder', async () => {
    await docs().upload(path('from.txt'), new Blob(['moving'], { type: 'text/plain' }));
    const { data, error } = await docs().move(path('from.txt'), path('moved/to.txt'));
    expect(error).toBeNull();
    expect(data).toEqual({ message: 'Successfully moved', Id: expect.any(String), Key: path('moved/to.txt') });
    expect(await (await docs().download(path('moved/to.txt'))).data!.text()).toBe('moving');
    expect((await docs().exists(path('from.txt'))).data).toBe(false);
  });

  it('returns "409" when moving onto an existing key', async () => {
    await docs().upload(path('m1.txt'), new Blob(['1'], { type: 'text/plain' }));
    await docs().upload(path('m2.txt'), new Blob(['2'], { type: 'text/plain' }));
    const { error } = await docs().move(path('m1.txt'), path('m2.txt'));
    expect(error).toMatchObject({ status: 400, statusCode: '409' });
    expect(owner.errors.last!.body).toEqual({
      statusCode: '409',
      code: 'ResourceAlreadyExists',
      error: 'Duplicate',
      message: 'The resource already exists',
    });
  });

  it('copies an object to an independent new object', async () => {
    await docs().upload(path('orig.txt'), new Blob(['original'], { type: 'text/plain' }), { metadata: { k: 'v' } });
    const { data, error } = await docs().copy(path('orig.txt'), path('copy.txt'));
    expect(error).toBeNull();
    expect(data).toEqual({ path: `documents/${path('copy.txt')}` });
    await docs().remove([path('orig.txt')]);
    expect(await (await docs().download(path('copy.txt'))).data!.text()).toBe('original');
    expect((await docs().info(path('copy.txt'))).data).toMatchObject({ metadata: { k: 'v' }, size: 8 });
    const again = await docs().copy(path('copy.txt'), path('copy.txt'));
    expect(again.error).toMatchObject({ statusCode: '409' });
    expect(owner.errors.last).toEqual(DUPLICATE_KEY);
  });

  it('copies across buckets as the service role', async () => {
    const admin = serviceClient(stack);
    await docs().upload(path('to-vault.txt'), new Blob(['secret'], { type: 'text/plain' }));
    const { error } = await admin.storage.from('documents').copy(path('to-vault.txt'), 'copied.txt', { destinationBucket: 'vault' });
    expect(error).toBeNull();
    expect(await (await admin.storage.from('vault').download('copied.txt')).data!.text()).toBe('secret');
  });
});
