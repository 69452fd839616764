import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient } from '../../helpers/stack.ts';
import {
  invalidKey,
  invalidMime,
  mintRecordedUser,
  objectNames,
  type RecordedUser,
  responseOf,
  startStorageStack,
  storageError,
  TOO_LARGE,
} from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
});
afterAll(async () => stack?.stop());

const MiB = 1024 * 1024;
const docs = () => owner.client.storage.from('documents');

/** A request whose path goes to the server byte for byte (no URL normalisation on the client side). */
function rawRequest(stackUrl: string, method: string, path: string, token: string, apikey: string, body?: string) {
  const { hostname, port } = new URL(stackUrl);
  return new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method,
        path,
        headers: { apikey, authorization: `Bearer ${token}`, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body ?? '') },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // keep text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('bucket limits from config.toml', () => {
  it('creates the configured buckets at start with their limits', async () => {
    const { data } = await serviceClient(stack).storage.getBucket('documents');
    expect(data).toMatchObject({
      id: 'documents',
      public: false,
      file_size_limit: MiB,
      allowed_mime_types: ['text/plain', 'application/pdf', 'image/*'],
    });
    expect((await serviceClient(stack).storage.getBucket('avatars')).data).toMatchObject({ public: true, file_size_limit: null });
  });

  it('accepts a MIME type matched by a wildcard and refuses others with "415"', async () => {
    expect((await docs().upload(`${owner.id}/pic.webp`, new Blob(['img'], { type: 'image/webp' }))).error).toBeNull();
    const zip = await docs().upload(`${owner.id}/a.zip`, new Blob(['PK'], { type: 'application/zip' }));
    expect(zip.error).toMatchObject({ status: 400, statusCode: '415' });
    expect(owner.errors.last).toEqual(invalidMime('application/zip'));
    const raw = await docs().upload(`${owner.id}/a.json`, Buffer.from('{}'), { contentType: 'application/json' });
    expect(raw.error).toMatchObject({ statusCode: '415' });
    expect(owner.errors.last).toEqual(invalidMime('application/json'));
    expect(await objectNames(stack, 'documents')).toEqual([`${owner.id}/pic.webp`]);
  });

  it('refuses a multipart file over the bucket limit with "413" and keeps nothing', async () => {
    const { error } = await docs().upload(`${owner.id}/big.txt`, new Blob([Buffer.alloc(MiB + 1, 97)], { type: 'text/plain' }));
    expect(error).toMatchObject({ status: 400, statusCode: '413' });
    expect(owner.errors.last).toEqual(TOO_LARGE);
    expect(await objectNames(stack, 'documents')).not.toContain(`${owner.id}/big.txt`);
  });

  it('accepts a file of exactly the limit', async () => {
    const { error } = await docs().upload(`${owner.id}/exact.pdf`, Buffer.alloc(MiB, 1), { contentType: 'application/pdf' });
    expect(error).toBeNull();
    expect((await docs().info(`${owner.id}/exact.pdf`)).data!.size).toBe(MiB);
  });

  it('refuses a raw body whose Content-Length exceeds the limit before reading it', async () => {
    const { error } = await docs().upload(`${owner.id}/big.pdf`, Buffer.alloc(2 * MiB), { contentType: 'application/pdf' });
    expect(error).toMatchObject({ statusCode: '413' });
    expect(owner.errors.last).toEqual(TOO_LARGE);
  });

  it('refuses a 2 GB stream without a length once the limit is passed, long before the end', async () => {
    const total = 2 * 1024 * MiB;
    const chunk = new Uint8Array(64 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= total) {
          controller.close();
          return;
        }
        sent += chunk.length;
        controller.enqueue(chunk);
      },
    });
    const { error } = await docs().upload(`${owner.id}/huge.pdf`, body, { contentType: 'application/pdf' });
    expect(error).toMatchObject({ statusCode: '413' });
    expect(owner.errors.last).toEqual(TOO_LARGE);
    expect(sent).toBeLessThan(total);
    expect(await objectNames(stack, 'documents')).not.toContain(`${owner.id}/huge.pdf`);
  });

  it('caps a bucket limit at the global limit and refuses a larger one on create', async () => {
    const admin = serviceClient(stack);
    const { error } = await admin.storage.createBucket('too-big', { public: false, fileSizeLimit: '60MB' });
    expect(error).toMatchObject({ statusCode: '413' });
    const badFormat = await admin.storage.createBucket('bad-format', { public: false, fileSizeLimit: '20 parsecs' });
    expect(badFormat.error).toMatchObject({
      statusCode: '400',
      message: 'Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B',
    });
  });
});

describe('object keys', () => {
  const refused = [
    ['an encoded ../', '..%2F..%2Fescape.txt', '../../escape.txt'],
    ['an encoded ../ after a folder', 'OWNER%2F..%2F..%2Fescape.txt', 'OWNER/../../escape.txt'],
    ['fully encoded dots', 'OWNER/%2e%2e%2fescape.txt', 'OWNER/../escape.txt'],
    ['a backslash', 'OWNER/..%5C..%5Cescape.txt', 'OWNER/..\\..\\escape.txt'],
    ['an absolute path', '%2Fetc%2Fpasswd', '/etc/passwd'],
    ['a NUL byte', 'OWNER/a%00b.txt', 'OWNER/a\u0000b.txt'],
    ['a control character', 'OWNER/a%0Ab.txt', 'OWNER/a\nb.txt'],
  ] as const;

  for (const [what, encoded, decoded] of refused) {
    it(`refuses a key with ${what} with InvalidKey`, async () => {
      const path = `/storage/v1/object/documents/${encoded.replace('OWNER', owner.id)}`;
      const res = await rawRequest(stack.apiUrl, 'POST', path, owner.token, stack.keys.publishable, 'payload');
      expect(res).toEqual(invalidKey(decoded.replace('OWNER', owner.id)));
    });
  }

  it('refuses traversal through storage-js too, and nothing is stored anywhere', async () => {
    const { error } = await docs().upload(`${owner.id}/..%2F..%2Fescape.txt`, new Blob(['x'], { type: 'text/plain' }));
    expect(error).toMatchObject({ status: 400, statusCode: '400' });
    expect(owner.errors.last).toEqual(invalidKey(`${owner.id}/../../escape.txt`));
    const moved = await docs().move(`${owner.id}/pic.webp`, `${owner.id}/..%2F..%2Fx`);
    expect(moved.error).toMatchObject({ statusCode: '400' });
    expect(owner.errors.last).toEqual(invalidKey(`${owner.id}/..%2F..%2Fx`));
    const { rows } = await stack.db.query("select name from storage.objects where name like '%..%' or name like '/%'");
    expect(rows).toEqual([]);
  });

  it('never lets a literal ../ reach an object route: the URL is normalised before routing', async () => {
    const res = await rawRequest(
      stack.apiUrl,
      'POST',
      `/storage/v1/object/documents/${owner.id}/../../../escape.txt`,
      owner.token,
      stack.keys.publishable,
      'payload',
    );
    expect(res.status).toBe(404);
    expect(await objectNames(stack, 'documents')).not.toContain('escape.txt');
  });

  it('refuses a bucket name with a slash or traversal with InvalidBucketName', async () => {
    const res = await rawRequest(stack.apiUrl, 'GET', '/storage/v1/object/..%2Fdocuments/x.txt', owner.token, stack.keys.publishable);
    expect(res).toEqual(storageError('400', 'InvalidBucketName', 'Invalid Input', 'Bucket name invalid'));
  });

  it('keeps unusual but valid keys (spaces, parentheses) intact', async () => {
    const name = `${owner.id}/My Report (final).pdf`;
    expect((await docs().upload(name, Buffer.from('%PDF'), { contentType: 'application/pdf' })).error).toBeNull();
    expect((await docs().list(owner.id, { search: 'My' })).data!.map((e) => e.name)).toEqual(['My Report (final).pdf']);
    expect(await (await docs().download(name)).data!.text()).toBe('%PDF');
  });
});

it('answers an unknown route with the storage 404 body', async () => {
  const res = await fetch(`${stack.apiUrl}/storage/v1/nothing/here`, { headers: { apikey: stack.keys.publishable } });
  expect(await responseOf(res)).toEqual({
    status: 404,
    body: { statusCode: '404', error: 'Not Found', message: 'Route GET:/nothing/here not found', code: 'InvalidRequest' },
  });
});
