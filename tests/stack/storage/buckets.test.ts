import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient } from '../../helpers/stack.ts';
import { ErrorRecorder, mintRecordedUser, NO_SUCH_BUCKET, type RecordedUser, startStorageStack, storageError } from './helpers.ts';

let stack: Stack;
let user: RecordedUser;
const errors = new ErrorRecorder();
const admin = () => serviceClient(stack, errors.fetch).storage;

beforeAll(async () => {
  stack = await startStorageStack();
  user = await mintRecordedUser(stack);
});
afterAll(async () => stack?.stop());

describe('bucket CRUD as the service role', () => {
  it('creates, reads, lists, updates and deletes a bucket', async () => {
    expect(
      await admin().createBucket('photos', { public: false, fileSizeLimit: '2MB', allowedMimeTypes: ['image/png'] }),
    ).toEqual({ data: { name: 'photos' }, error: null });
    const { data } = await admin().getBucket('photos');
    expect(data).toEqual({
      id: 'photos',
      name: 'photos',
      owner: null,
      public: false,
      file_size_limit: 2_000_000,
      allowed_mime_types: ['image/png'],
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const list = await admin().listBuckets({ search: 'phot' });
    expect(list.data!.map((b) => b.id)).toEqual(['photos']);
    const sorted = await admin().listBuckets({ sortColumn: 'name', sortOrder: 'desc', limit: 2 });
    expect(sorted.data!.map((b) => b.id)).toEqual(['vault', 'photos']);

    expect(await admin().updateBucket('photos', { public: true, fileSizeLimit: 1000, allowedMimeTypes: ['image/*'] })).toEqual({
      data: { message: 'Successfully updated' },
      error: null,
    });
    expect((await admin().getBucket('photos')).data).toMatchObject({ public: true, file_size_limit: 1000, allowed_mime_types: ['image/*'] });
    expect(await admin().deleteBucket('photos')).toEqual({ data: { message: 'Successfully deleted' }, error: null });
    expect((await admin().getBucket('photos')).error).toMatchObject({ statusCode: '404' });
    expect(errors.last).toEqual(NO_SUCH_BUCKET);
  });

  it('returns "409" BucketAlreadyExists for a duplicate id', async () => {
    const { error } = await admin().createBucket('documents', { public: false });
    expect(error).toMatchObject({ status: 400, statusCode: '409' });
    expect(errors.last).toEqual(storageError('409', 'BucketAlreadyExists', 'Duplicate', 'The resource already exists'));
  });

  it('refuses an invalid bucket name and an invalid MIME type list', async () => {
    await admin().createBucket(' spaced ', { public: false });
    expect(errors.last).toEqual(storageError('400', 'InvalidBucketName', 'Invalid Input', 'Bucket name invalid'));
    await admin().createBucket('mimes', { public: false, allowedMimeTypes: ['not a mime'] });
    expect(errors.last).toEqual(storageError('415', 'InvalidMimeType', 'invalid_mime_type', 'mime type not a mime is not supported'));
  });

  it('refuses to delete a bucket that still holds objects, then empties and deletes it', async () => {
    await admin().createBucket('full', { public: false });
    await admin().from('full').upload('a.txt', new Blob(['a'], { type: 'text/plain' }));
    await admin().from('full').upload('dir/b.txt', new Blob(['b'], { type: 'text/plain' }));
    const { error } = await admin().deleteBucket('full');
    expect(error).toMatchObject({ statusCode: '409' });
    expect(errors.last).toEqual(storageError('409', 'ResourceNotEmpty', 'ResourceNotEmpty', 'The bucket you tried to delete is not empty'));
    expect(await admin().emptyBucket('full')).toEqual({
      data: { message: 'Empty bucket has been queued. Completion may take up to an hour.' },
      error: null,
    });
    expect((await admin().from('full').list()).data).toEqual([]);
    expect((await admin().deleteBucket('full')).error).toBeNull();
  });

  it('returns NoSuchBucket when updating, emptying or deleting a missing bucket', async () => {
    await admin().updateBucket('ghost', { public: true });
    expect(errors.last).toEqual(NO_SUCH_BUCKET);
    await admin().emptyBucket('ghost');
    expect(errors.last).toEqual(NO_SUCH_BUCKET);
    await admin().deleteBucket('ghost');
    expect(errors.last).toEqual(NO_SUCH_BUCKET);
  });
});

describe('bucket operations for other roles', () => {
  it('refuses emptyBucket to anyone but the service role with HTTP 403', async () => {
    const { error } = await user.client.storage.emptyBucket('documents');
    expect(error).toMatchObject({ status: 403, statusCode: '403' });
    expect(user.errors.last).toEqual(storageError('403', 'AccessDenied', 'Unauthorized', 'Access denied: Invalid role', 403));
  });

  it('answers NoSuchBucket to a user or anon deleting a bucket they cannot see, even one holding objects', async () => {
    await admin().from('vault').upload('held.txt', new Blob(['kept'], { type: 'text/plain' }));
    await user.client.storage.deleteBucket('vault');
    expect(user.errors.last).toEqual(NO_SUCH_BUCKET);
    const anonErrors = new ErrorRecorder();
    await anonClient(stack, anonErrors.fetch).storage.deleteBucket('vault');
    expect(anonErrors.last).toEqual(NO_SUCH_BUCKET);
    expect((await admin().getBucket('vault')).error).toBeNull();
    expect((await admin().deleteBucket('vault')).error).toMatchObject({ statusCode: '409' });
    expect(errors.last).toEqual(storageError('409', 'ResourceNotEmpty', 'ResourceNotEmpty', 'The bucket you tried to delete is not empty'));
    await admin().from('vault').remove(['held.txt']);
  });

  it('refuses emptyBucket to anon with HTTP 403 too, as the Storage API does for this service-role route', async () => {
    const anonErrors = new ErrorRecorder();
    const { error } = await anonClient(stack, anonErrors.fetch).storage.emptyBucket('vault');
    expect(error).toMatchObject({ status: 403, statusCode: '403' });
    expect(anonErrors.last).toEqual(storageError('403', 'AccessDenied', 'Unauthorized', 'Access denied: Invalid role', 403));
  });

  it('lets a user delete nothing: the bucket is invisible to them', async () => {
    await user.client.storage.deleteBucket('vault');
    expect(user.errors.last).toEqual(NO_SUCH_BUCKET);
    expect((await admin().getBucket('vault')).error).toBeNull();
  });
});
