import { Agent, request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import {
  DUPLICATE_KEY,
  invalidMime,
  mintRecordedUser,
  RLS_DENIED,
  type RecordedUser,
  startStorageStack,
  TOO_LARGE,
} from './helpers.ts';

let stack: Stack;
let owner: RecordedUser;
let stranger: RecordedUser;

beforeAll(async () => {
  stack = await startStorageStack();
  owner = await mintRecordedUser(stack);
  stranger = await mintRecordedUser(stack);
});
afterAll(async () => stack?.stop());

const MiB = 1024 * 1024;
const ROUNDS = 4;

describe('refused uploads leave the client able to read the error and make its next call', () => {
  it(`answers every refusal in ${ROUNDS} rounds with its error, and the calls after them succeed`, async () => {
    const docs = owner.client.storage.from('documents');
    for (let round = 0; round < ROUNDS; round += 1) {
      const mine = `${owner.id}/round-${round}.txt`;
      expect((await docs.upload(mine, new Blob([`round ${round}`], { type: 'text/plain' }))).error).toBeNull();

      expect((await docs.upload(mine, new Blob(['again'], { type: 'text/plain' }))).error).toMatchObject({ statusCode: '409' });
      expect(owner.errors.last).toEqual(DUPLICATE_KEY);

      const theirs = await docs.upload(`${stranger.id}/planted-${round}.txt`, new Blob(['x'], { type: 'text/plain' }));
      expect(theirs.error).toMatchObject({ statusCode: '403' });
      expect(owner.errors.last).toEqual(RLS_DENIED);

      const big = await docs.upload(`${owner.id}/big-${round}.txt`, new Blob([Buffer.alloc(MiB + 1, 97)], { type: 'text/plain' }));
      expect(big.error).toMatchObject({ statusCode: '413' });
      expect(owner.errors.last).toEqual(TOO_LARGE);

      const zip = await docs.upload(`${owner.id}/z-${round}.zip`, new Blob([Buffer.alloc(64 * 1024, 1)], { type: 'application/zip' }));
      expect(zip.error).toMatchObject({ statusCode: '415' });
      expect(owner.errors.last).toEqual(invalidMime('application/zip'));

      // The URL parser resolves `..` before the request is sent, so this reaches no object route at all.
      const dotted = await docs.upload(`${owner.id}/../../escape-${round}.txt`, new Blob(['x'], { type: 'text/plain' }));
      expect(dotted.error).toMatchObject({ status: 404 });

      const raw = await docs.upload(`${owner.id}/raw-${round}.pdf`, Buffer.alloc(4 * MiB, 2), { contentType: 'application/pdf' });
      expect(raw.error).toMatchObject({ statusCode: '413' });
      expect(owner.errors.last).toEqual(TOO_LARGE);

      const signed = await docs.createSignedUrl(mine, 60);
      expect(signed.error).toBeNull();
      const fetched = await fetch(signed.data!.signedUrl);
      expect(await fetched.text()).toBe(`round ${round}`);
      expect(await (await docs.download(mine)).data!.text()).toBe(`round ${round}`);
    }
    const { rows } = await stack.db.query<{ name: string }>(
      'select name from storage.objects where bucket_id = $1 order by name',
      ['documents'],
    );
    expect(rows.map((r) => r.name)).toEqual(Array.from({ length: ROUNDS }, (_, i) => `${owner.id}/round-${i}.txt`));
  });
});

/** One raw upload through `agent`: status, whether the server kept the connection, and whether it reused one. */
function rawUpload(agent: Agent, path: string, bytes: number, declareLength: boolean) {
  const { hostname, port } = new URL(stack.apiUrl);
  return new Promise<{ status: number; connection: string | undefined; reused: boolean; body: unknown }>((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: hostname,
        port,
        method: 'POST',
        path: `/storage/v1/object/documents/${path}`,
        headers: {
          apikey: stack.keys.publishable,
          authorization: `Bearer ${owner.token}`,
          'content-type': 'application/pdf',
          ...(declareLength ? { 'content-length': String(bytes) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            reused: req.reusedSocket,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
          }),
        );
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(256 * 1024, 3);
    let sent = 0;
    const write = () => {
      while (sent < bytes) {
        const size = Math.min(chunk.length, bytes - sent);
        sent += size;
        if (!req.write(chunk.subarray(0, size))) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('the connection after a refused body', () => {
  it('reads the rest of a refused 4 MiB body, answers 413 and keeps the connection for the next request', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (const declareLength of [true, false, true]) {
        const res = await rawUpload(agent, `${owner.id}/over-${declareLength}.pdf`, 4 * MiB, declareLength);
        expect(res).toMatchObject({ status: 400, body: TOO_LARGE.body });
        expect(res.connection).not.toBe('close');
      }
      const small = await rawUpload(agent, `${owner.id}/small.pdf`, 1024, true);
      expect(small).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });

  it('answers a body declared longer than it drains first at once, reading the rest meanwhile, and the next call works', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await rawUpload(agent, `${owner.id}/huge.pdf`, 40 * MiB, true);
      expect(res).toMatchObject({ status: 400, body: TOO_LARGE.body });
      expect(res.connection).not.toBe('close');
      // Node's client does not reuse a socket that answered before the body was sent; the next call simply works.
      const small = await rawUpload(agent, `${owner.id}/after-huge.pdf`, 1024, true);
      expect(small).toMatchObject({ status: 200 });
    } finally {
      agent.destroy();
    }
  });
});
