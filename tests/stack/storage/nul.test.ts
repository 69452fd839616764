import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { mintRecordedUser, objectNames, type RecordedUser, startStorageStack, storageError } from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
});
afterAll(async () => stack?.stop());

const docs = () => owner.client.storage.from('documents');
const NUL = '\u0000';
const nulRefused = (where: string) =>
  storageError('400', 'InvalidRequest', 'Bad Request', `${where} must not contain the NUL character (\\u0000)`);

describe('text holding U+0000 (Postgres cannot store it) is refused with 400 before it reaches the database', () => {
  it('refuses user metadata with a NUL sent as a multipart field, and stores nothing', async () => {
    const { error } = await docs().upload(`${owner.id}/m.txt`, new Blob(['x'], { type: 'text/plain' }), {
      metadata: { note: `a${NUL}b` },
    });
    expect(error).toMatchObject({ status: 400, statusCode: '400' });
    expect(owner.errors.last).toEqual(nulRefused('metadata/note'));
    expect(await objectNames(stack, 'documents')).toEqual([]);
  });

  it('refuses a NUL in a metadata key, in x-metadata of a raw upload, and in cacheControl', async () => {
    await docs().upload(`${owner.id}/k.txt`, new Blob(['x'], { type: 'text/plain' }), { metadata: { [`k${NUL}`]: 1 } });
    expect(owner.errors.last).toEqual(nulRefused('metadata/k\\u0000'));
    await docs().upload(`${owner.id}/r.pdf`, Buffer.from('%PDF'), { contentType: 'application/pdf', metadata: { list: ['ok', NUL] } });
    expect(owner.errors.last).toEqual(nulRefused('x-metadata/list/1'));
    await docs().upload(`${owner.id}/c.txt`, new Blob(['x'], { type: 'text/plain' }), { cacheControl: `60${NUL}` });
    expect(owner.errors.last).toEqual(nulRefused('body/cacheControl'));
    expect(await objectNames(stack, 'documents')).toEqual([]);
  });

  it('refuses a NUL in list, remove and sign bodies, then serves the next call', async () => {
    await docs().list(`${owner.id}${NUL}`);
    expect(owner.errors.last).toEqual(nulRefused('body/prefix'));
    await docs().listV2({ prefix: NUL });
    expect(owner.errors.last).toEqual(nulRefused('body/prefix'));
    await docs().remove([`${owner.id}/a${NUL}`]);
    expect(owner.errors.last).toEqual(nulRefused('body/prefixes/0'));
    await docs().createSignedUrls([`${owner.id}/a${NUL}`], 60);
    expect(owner.errors.last).toEqual(nulRefused('body/paths/0'));
    expect((await docs().upload(`${owner.id}/fine.txt`, new Blob(['fine'], { type: 'text/plain' }), { metadata: { ok: true } })).error).toBeNull();
    expect((await docs().info(`${owner.id}/fine.txt`)).data).toMatchObject({ metadata: { ok: true } });
  });
});
