import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient } from '../../helpers/stack.ts';
import {
  ErrorRecorder,
  mintRecordedUser,
  NO_SUCH_BUCKET,
  NO_SUCH_KEY,
  objectNames,
  type RecordedUser,
  responseOf,
  RLS_DENIED,
  startStorageStack,
  storageError,
  storageFetch,
} from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;
let stranger: RecordedUser;
const anonErrors = new ErrorRecorder();

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
  stranger = await mintRecordedUser(stack);
  const { error } = await owner.client.storage.from('documents').upload(`${owner.id}/private.txt`, new Blob(['mine'], { type: 'text/plain' }));
  expect(error).toBeNull();
});
afterAll(async () => stack?.stop());

const ownerFile = () => `${owner.id}/private.txt`;

describe('private bucket with per-user folder policies', () => {
  it('lets the owner read, list, sign and info their object', async () => {
    const bucket = owner.client.storage.from('documents');
    expect(await (await bucket.download(ownerFile())).data!.text()).toBe('mine');
    expect((await bucket.list(owner.id)).data!.map((e) => e.name)).toEqual(['private.txt']);
    expect((await bucket.info(ownerFile())).error).toBeNull();
    expect((await bucket.createSignedUrl(ownerFile(), 60)).error).toBeNull();
  });

  it('hides the object from a stranger: download and info are NoSuchKey, list is empty', async () => {
    const bucket = stranger.client.storage.from('documents');
    expect((await bucket.download(ownerFile())).error).toMatchObject({ status: 400, statusCode: '404' });
    expect(stranger.errors.last).toEqual(NO_SUCH_KEY);
    expect((await bucket.info(ownerFile())).error).toMatchObject({ statusCode: '404' });
    expect((await bucket.exists(ownerFile())).data).toBe(false);
    expect((await bucket.list(owner.id)).data).toEqual([]);
    expect((await bucket.createSignedUrl(ownerFile(), 60)).error).toMatchObject({ statusCode: '404' });
    const many = await bucket.createSignedUrls([ownerFile()], 60);
    expect(many.data).toEqual([
      { error: 'Either the object does not exist or you do not have access to it', path: ownerFile(), signedURL: null, signedUrl: null },
    ]);
  });

  it('refuses a stranger’s upload into the owner’s folder with "403" before storing anything', async () => {
    const { error } = await stranger.client.storage.from('documents').upload(`${owner.id}/planted.txt`, new Blob(['x'], { type: 'text/plain' }));
    expect(error).toMatchObject({ status: 400, statusCode: '403', message: 'new row violates row-level security policy' });
    expect(stranger.errors.last).toEqual(RLS_DENIED);
    expect(await objectNames(stack, 'documents')).not.toContain(`${owner.id}/planted.txt`);
  });

  it('refuses a stranger’s overwrite (upsert needs UPDATE on the existing row)', async () => {
    const { error } = await stranger.client.storage
      .from('documents')
      .upload(ownerFile(), new Blob(['overwritten'], { type: 'text/plain' }), { upsert: true });
    expect(error).toMatchObject({ statusCode: '403' });
    expect(await (await owner.client.storage.from('documents').download(ownerFile())).data!.text()).toBe('mine');
  });

  it('lets a stranger neither remove, move nor copy the owner’s object', async () => {
    const bucket = stranger.client.storage.from('documents');
    expect(await bucket.remove([ownerFile()])).toEqual({ data: [], error: null });
    expect((await bucket.move(ownerFile(), `${stranger.id}/stolen.txt`)).error).toMatchObject({ statusCode: '404' });
    expect((await bucket.copy(ownerFile(), `${stranger.id}/stolen.txt`)).error).toMatchObject({ statusCode: '404' });
    expect(await objectNames(stack, 'documents')).toEqual([ownerFile()]);
  });

  it('refuses the owner moving an object out of their folder (UPDATE with check)', async () => {
    const { error } = await owner.client.storage.from('documents').move(ownerFile(), `${stranger.id}/gift.txt`);
    expect(error).toMatchObject({ statusCode: '403' });
    expect(owner.errors.last).toEqual(RLS_DENIED);
  });

  it('gives anon nothing: no read, no list, no upload', async () => {
    const bucket = anonClient(stack, anonErrors.fetch).storage.from('documents');
    expect((await bucket.download(ownerFile())).error).toMatchObject({ statusCode: '404' });
    expect(anonErrors.last).toEqual(NO_SUCH_KEY);
    expect((await bucket.list(owner.id)).data).toEqual([]);
    expect((await bucket.upload(`${owner.id}/anon.txt`, new Blob(['x'], { type: 'text/plain' }))).error).toMatchObject({
      statusCode: '403',
    });
    expect(anonErrors.last).toEqual(RLS_DENIED);
  });

  it('lets the service role read everything (it bypasses RLS)', async () => {
    const { data } = await serviceClient(stack).storage.from('documents').download(ownerFile());
    expect(await data!.text()).toBe('mine');
  });

  it('refuses an invalid or expired token with "403" AccessDenied', async () => {
    const res = await storageFetch(stack, `/object/documents/${ownerFile()}`, { token: 'not-a-jwt' });
    expect(await responseOf(res)).toEqual(storageError('403', 'AccessDenied', 'Unauthorized', 'Invalid Compact JWS'));
    const expired = await stack.jwt.sign({ sub: owner.id, role: 'authenticated', aud: 'authenticated', exp: 1_000_000 });
    const late = await storageFetch(stack, `/object/documents/${ownerFile()}`, { token: expired });
    expect(await responseOf(late)).toEqual(
      storageError('403', 'AccessDenied', 'Unauthorized', '"exp" claim timestamp check failed'),
    );
  });
});

describe('public bucket', () => {
  it('serves objects at the public URL without any key or token', async () => {
    const { error } = await owner.client.storage.from('avatars').upload(`${owner.id}/me.png`, new Blob(['png!'], { type: 'image/png' }));
    expect(error).toBeNull();
    const { data } = anonClient(stack).storage.from('avatars').getPublicUrl(`${owner.id}/me.png`);
    expect(data.publicUrl).toBe(`${stack.apiUrl}/storage/v1/object/public/avatars/${owner.id}/me.png`);
    const res = await fetch(data.publicUrl);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(await res.text()).toBe('png!');
    const download = await fetch(`${data.publicUrl}?download=me%20too.png`);
    expect(download.headers.get('content-disposition')).toBe("attachment; filename=me%20too.png; filename*=UTF-8''me%20too.png");
  });

  it('lets anyone with a key download from a public bucket without a SELECT policy', async () => {
    const { data } = await anonClient(stack).storage.from('avatars').download(`${owner.id}/me.png`);
    expect(await data!.text()).toBe('png!');
  });

  it('answers NoSuchBucket for the public URL of a private bucket', async () => {
    const res = await fetch(`${stack.apiUrl}/storage/v1/object/public/documents/${ownerFile()}`);
    expect(await responseOf(res)).toEqual(NO_SUCH_BUCKET);
  });

  it('answers NoSuchKey for a missing public object', async () => {
    const res = await fetch(`${stack.apiUrl}/storage/v1/object/public/avatars/nobody.png`);
    expect(await responseOf(res)).toEqual(NO_SUCH_KEY);
  });
});

describe('buckets under RLS', () => {
  it('shows a signed-in user no buckets and refuses bucket creation (no policies on storage.buckets)', async () => {
    expect(await owner.client.storage.listBuckets()).toEqual({ data: [], error: null });
    const { error } = await owner.client.storage.createBucket('mine');
    expect(error).toMatchObject({ statusCode: '403' });
    expect(owner.errors.last).toEqual(RLS_DENIED);
    expect((await owner.client.storage.getBucket('documents')).error).toMatchObject({ statusCode: '404' });
    expect(owner.errors.last).toEqual(NO_SUCH_BUCKET);
  });
});
