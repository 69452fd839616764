import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import {
  DUPLICATE_KEY,
  mintRecordedUser,
  objectNames,
  type RecordedUser,
  responseOf,
  RLS_DENIED,
  startStorageStack,
  storageError,
} from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;
let stranger: RecordedUser;

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
  stranger = await mintRecordedUser(stack);
  await owner.client.storage.from('documents').upload(`${owner.id}/report.pdf`, Buffer.from('%PDF report'), {
    contentType: 'application/pdf',
  });
});
afterAll(async () => stack?.stop());

const file = () => `${owner.id}/report.pdf`;

describe('signed download URLs', () => {
  it('signs a URL that downloads without key or token, valid for exactly expiresIn seconds', async () => {
    const { data, error } = await owner.client.storage.from('documents').createSignedUrl(file(), 120);
    expect(error).toBeNull();
    const url = new URL(data!.signedUrl);
    expect(url.pathname).toBe(`/storage/v1/object/sign/documents/${file()}`);
    const claims = decodeJwt(url.searchParams.get('token')!);
    expect(claims).toEqual({ url: `documents/${file()}`, scope: 'download', iat: expect.any(Number), exp: claims.iat! + 120 });
    const res = await fetch(data!.signedUrl);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('%PDF report');
  });

  it('adds Content-Disposition when asked to download', async () => {
    const { data } = await owner.client.storage.from('documents').createSignedUrl(file(), 60, { download: 'r.pdf' });
    const res = await fetch(data!.signedUrl);
    expect(res.headers.get('content-disposition')).toBe("attachment; filename=r.pdf; filename*=UTF-8''r.pdf");
  });

  it('signs several paths at once, with an error entry for each missing one', async () => {
    const { data, error } = await owner.client.storage.from('documents').createSignedUrls([file(), `${owner.id}/nope.pdf`], 60);
    expect(error).toBeNull();
    expect(data![0]).toMatchObject({ error: null, path: file(), signedURL: expect.stringContaining(`/object/sign/documents/${file()}?token=`) });
    expect(data![1]).toEqual({
      error: 'Either the object does not exist or you do not have access to it',
      path: `${owner.id}/nope.pdf`,
      signedURL: null,
      signedUrl: null,
    });
    expect(await (await fetch(data![0].signedUrl!)).text()).toBe('%PDF report');
  });

  it('refuses an expired token with InvalidJWT', async () => {
    const token = await stack.jwt.signWithSecret({ url: `documents/${file()}`, scope: 'download', iat: 1000, exp: 2000 });
    const res = await fetch(`${stack.apiUrl}/storage/v1/object/sign/documents/${file()}?token=${token}`);
    expect(await responseOf(res)).toEqual(storageError('400', 'InvalidJWT', 'InvalidJWT', '"exp" claim timestamp check failed'));
  });

  it('refuses a token signed for another object, an upload token, and a forged signature', async () => {
    const { data } = await owner.client.storage.from('documents').createSignedUrl(file(), 60);
    const token = new URL(data!.signedUrl).searchParams.get('token')!;
    const other = await fetch(`${stack.apiUrl}/storage/v1/object/sign/documents/${owner.id}/other.pdf?token=${token}`);
    expect(await responseOf(other)).toEqual(storageError('400', 'InvalidSignature', 'InvalidSignature', 'Invalid signature'));

    const upload = await stack.jwt.signWithSecret({ url: `documents/${file()}`, scope: 'upload', upsert: false, exp: 4_000_000_000 });
    const wrongScope = await fetch(`${stack.apiUrl}/storage/v1/object/sign/documents/${file()}?token=${upload}`);
    expect(await responseOf(wrongScope)).toEqual(
      storageError('400', 'InvalidSignature', 'InvalidSignature', 'Token is not scoped for download'),
    );

    const forged = `${token.slice(0, token.lastIndexOf('.'))}.AAAA`;
    const bad = await fetch(`${stack.apiUrl}/storage/v1/object/sign/documents/${file()}?token=${forged}`);
    expect(await responseOf(bad)).toEqual(storageError('400', 'InvalidJWT', 'InvalidJWT', 'signature verification failed'));
  });
});

describe('signed upload URLs', () => {
  it('lets anyone holding the token upload once to that path, owned by the signer', async () => {
    const bucket = owner.client.storage.from('documents');
    const { data, error } = await bucket.createSignedUploadUrl(`${owner.id}/incoming.txt`);
    expect(error).toBeNull();
    expect(decodeJwt(data!.token)).toMatchObject({
      owner: owner.id,
      url: `documents/${owner.id}/incoming.txt`,
      upsert: false,
      scope: 'upload',
    });
    const anonymous = stranger.client.storage.from('documents');
    const uploaded = await anonymous.uploadToSignedUrl(`${owner.id}/incoming.txt`, data!.token, new Blob(['via token'], { type: 'text/plain' }));
    expect(uploaded).toEqual({
      data: { path: `${owner.id}/incoming.txt`, fullPath: `documents/${owner.id}/incoming.txt` },
      error: null,
    });
    expect(await (await bucket.download(`${owner.id}/incoming.txt`)).data!.text()).toBe('via token');
    const { rows } = await stack.db.query('select owner_id from storage.objects where name = $1', [`${owner.id}/incoming.txt`]);
    expect(rows).toEqual([{ owner_id: owner.id }]);

    const twice = await anonymous.uploadToSignedUrl(`${owner.id}/incoming.txt`, data!.token, new Blob(['again'], { type: 'text/plain' }));
    expect(twice.error).toMatchObject({ statusCode: '409' });
    expect(stranger.errors.last).toEqual(DUPLICATE_KEY);
  });

  it('honours upsert signed into the token', async () => {
    const bucket = owner.client.storage.from('documents');
    const { data } = await bucket.createSignedUploadUrl(file(), { upsert: true });
    const { error } = await bucket.uploadToSignedUrl(file(), data!.token, Buffer.from('%PDF v2'), { contentType: 'application/pdf' });
    expect(error).toBeNull();
    expect(await (await bucket.download(file())).data!.text()).toBe('%PDF v2');
  });

  it('refuses to sign an upload the caller’s policies would refuse', async () => {
    const { error } = await stranger.client.storage.from('documents').createSignedUploadUrl(`${owner.id}/x.txt`);
    expect(error).toMatchObject({ statusCode: '403' });
    expect(stranger.errors.last).toEqual(RLS_DENIED);
  });

  it('refuses a download token used for an upload and a token for another path', async () => {
    const { data } = await owner.client.storage.from('documents').createSignedUrl(file(), 60);
    const token = new URL(data!.signedUrl).searchParams.get('token')!;
    const res = await fetch(`${stack.apiUrl}/storage/v1/object/upload/sign/documents/${file()}?token=${token}`, {
      method: 'PUT',
      body: 'overwrite',
      headers: { 'content-type': 'text/plain' },
    });
    expect(await responseOf(res)).toEqual(storageError('400', 'InvalidSignature', 'InvalidSignature', 'Token is not scoped for upload'));
    const signed = await owner.client.storage.from('documents').createSignedUploadUrl(`${owner.id}/a.txt`);
    const elsewhere = await owner.client.storage
      .from('documents')
      .uploadToSignedUrl(`${owner.id}/b.txt`, signed.data!.token, new Blob(['x'], { type: 'text/plain' }));
    expect(elsewhere.error).toMatchObject({ statusCode: '400', message: 'Invalid signature' });
    expect(await objectNames(stack, 'documents')).not.toContain(`${owner.id}/b.txt`);
  });
});
