import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { signUpUser, startTestStack } from '../../helpers/stack.ts';
import { uploadFile } from './helpers.ts';

// The plan's document limit and the name-uniqueness rule hold under concurrency: the database decides, under a
// per-user lock, and the function turns its answer into the right status.
let stack: Stack;

beforeAll(async () => {
  stack = await startTestStack({ seed: false, scheduler: false });
  await stack.db.query("update public.plans set max_documents = 3 where id = 'free'");
});
afterAll(async () => {
  await stack?.stop();
});

const LIMIT = { error: { code: 'document_limit_reached', message: 'Your Free plan allows 3 documents. Delete one or upgrade your plan to add more.' } };

async function documentCount(userId: string): Promise<number> {
  return (await stack.db.query('select count(*)::int as n from public.documents where owner_id = $1', [userId])).rows[0].n;
}

describe("the plan's document limit", () => {
  it('answers 403 document_limit_reached once the plan is full, for uploads and signed upload URLs, storing nothing', async () => {
    const user = await signUpUser(stack, 'full');
    for (const name of ['1.txt', '2.txt', '3.txt']) expect((await uploadFile(stack, user, name, name)).status).toBe(202);
    const over = await uploadFile(stack, user, '4.txt', 'one too many');
    expect(over.status).toBe(403);
    expect(await over.json()).toEqual(LIMIT);
    const sign = await fetch(`${stack.apiUrl}/functions/v1/upload/sign`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: '4.txt' }),
    });
    expect(sign.status).toBe(403);
    expect(await sign.json()).toEqual(LIMIT);
    expect(await documentCount(user.id)).toBe(3);
  });

  it('holds for uploads straight to Storage with supabase-js, which get a 403 naming the plan', async () => {
    const user = await signUpUser(stack, 'direct');
    for (const name of ['1.txt', '2.txt', '3.txt']) {
      expect((await user.client.storage.from('documents').upload(`${user.id}/${name}`, new Blob(['x'], { type: 'text/plain' }))).error).toBeNull();
    }
    const { error } = await user.client.storage.from('documents').upload(`${user.id}/4.txt`, new Blob(['x'], { type: 'text/plain' }));
    expect(error).toMatchObject({ statusCode: '403', message: 'documents: the Free plan allows 3 documents; delete one or upgrade to add more' });
    expect(await documentCount(user.id)).toBe(3);
  });

  it('lets exactly one of several racing uploads take the last slot', async () => {
    const user = await signUpUser(stack, 'race');
    for (const name of ['1.txt', '2.txt']) expect((await uploadFile(stack, user, name, name)).status).toBe(202);
    const responses = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((n) => uploadFile(stack, user, `${n}.txt`, n)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 403, 403, 403, 403]);
    for (const response of responses.filter((r) => r.status === 403)) expect(await response.json()).toEqual(LIMIT);
    expect(await documentCount(user.id)).toBe(3);
  });

  it('frees a slot when a document is deleted', async () => {
    const user = await signUpUser(stack, 'free-slot');
    for (const name of ['1.txt', '2.txt', '3.txt']) expect((await uploadFile(stack, user, name, name)).status).toBe(202);
    expect((await user.client.storage.from('documents').remove([`${user.id}/1.txt`])).error).toBeNull();
    expect((await uploadFile(stack, user, '4.txt', 'fits again')).status).toBe(202);
  });
});

describe('racing uploads of the same name', () => {
  it('store one file and answer the others 409 file_exists, never 500', async () => {
    const user = await signUpUser(stack, 'same-name');
    const responses = await Promise.all([1, 2, 3, 4].map((n) => uploadFile(stack, user, 'same.txt', `version ${n}`)));
    expect(responses.map((r) => r.status).sort()).toEqual([202, 409, 409, 409]);
    for (const response of responses.filter((r) => r.status === 409)) {
      expect(await response.json()).toEqual({ error: { code: 'file_exists', message: 'File same.txt already exists in storage.' } });
    }
    expect(await documentCount(user.id)).toBe(1);
  });
});
