import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, mintUser, serviceClient, type TestUser, testClient } from '../../helpers/stack.ts';
import { startRestStack } from './helpers.ts';

let stack: Stack;
let alice: TestUser;
let bob: TestUser;
let asAlice: SupabaseClient;
let asBob: SupabaseClient;
let asAnon: SupabaseClient;
let asService: SupabaseClient;
let aliceNote: number;
let bobNote: number;

beforeAll(async () => {
  stack = await startRestStack();
  alice = await mintUser(stack, { email: 'alice@example.com' });
  bob = await mintUser(stack, { email: 'bob@example.com' });
  asAlice = alice.client;
  asBob = bob.client;
  asAnon = anonClient(stack);
  asService = serviceClient(stack);
  const { rows } = await stack.db.query<{ id: string; owner_id: string }>(
    `insert into public.notes (owner_id, body, is_public) values
       ($1, 'alice private', false), ($1, 'alice public', true), ($2, 'bob private', false)
     returning id, owner_id`,
    [alice.id, bob.id],
  );
  aliceNote = Number(rows[0].id);
  bobNote = Number(rows[2].id);
});
afterAll(async () => {
  await stack?.stop();
});

async function bodies(sb: SupabaseClient): Promise<unknown> {
  const { data, error } = await sb.from('notes').select('body').order('id');
  return error ?? data;
}

describe('row-level security through the Data API', () => {
  it('shows each user only their own rows', async () => {
    expect(await bodies(asAlice)).toEqual([{ body: 'alice private' }, { body: 'alice public' }]);
    expect(await bodies(asBob)).toEqual([{ body: 'bob private' }]);
  });

  it('shows anon only what the anon policy allows, and the service role everything', async () => {
    expect(await bodies(asAnon)).toEqual([{ body: 'alice public' }]);
    expect(await bodies(asService)).toEqual([{ body: 'alice private' }, { body: 'alice public' }, { body: 'bob private' }]);
  });

  it("affects zero rows when a user updates or deletes another user's row", async () => {
    const update = await asBob.from('notes').update({ body: 'hijacked' }, { count: 'exact' }).eq('id', aliceNote).select();
    expect({ data: update.data, count: update.count, status: update.status }).toEqual({ data: [], count: 0, status: 200 });
    const del = await asBob.from('notes').delete({ count: 'exact' }).eq('id', aliceNote);
    expect({ count: del.count, status: del.status }).toEqual({ count: 0, status: 204 });
    const { rows } = await stack.db.query('select body from public.notes where id = $1', [aliceNote]);
    expect(rows).toEqual([{ body: 'alice private' }]);
  });

  it('lets a user update and delete their own row', async () => {
    const { data } = await asBob.from('notes').update({ body: 'bob edited' }).eq('id', bobNote).select('body').single();
    expect(data).toEqual({ body: 'bob edited' });
    const { rows } = await stack.db.query('select body from public.notes where id = $1', [bobNote]);
    expect(rows).toEqual([{ body: 'bob edited' }]);
  });

  it('inserts with owner_id from auth.uid() as the default', async () => {
    const { data, error, status } = await asAlice.from('notes').insert({ body: 'mine' }).select('owner_id, body').single();
    expect({ data, error, status }).toEqual({ data: { owner_id: alice.id, body: 'mine' }, error: null, status: 201 });
  });

  it("answers 403 42501 when an authenticated user inserts a row for someone else", async () => {
    const { data, error, status } = await asAlice.from('notes').insert({ owner_id: bob.id, body: 'forged' });
    expect({ data, error, status }).toEqual({
      data: null,
      error: { code: '42501', details: null, hint: null, message: 'new row violates row-level security policy for table "notes"' },
      status: 403,
    });
  });

  it("answers 403 when a user tries to give their row away", async () => {
    const { error, status } = await asAlice.from('notes').update({ owner_id: bob.id }).eq('id', aliceNote);
    expect({ error, status }).toEqual({
      error: { code: '42501', details: null, hint: null, message: 'new row violates row-level security policy for table "notes"' },
      status: 403,
    });
  });

  it('answers 401 42501 with WWW-Authenticate when anon violates a policy', async () => {
    const { data, error, status } = await asAnon.from('notes').insert({ owner_id: alice.id, body: 'anonymous' });
    expect({ data, error, status }).toEqual({
      data: null,
      error: { code: '42501', details: null, hint: null, message: 'new row violates row-level security policy for table "notes"' },
      status: 401,
    });
    const res = await fetch(`${stack.apiUrl}/rest/v1/notes`, {
      method: 'DELETE',
      headers: { apikey: stack.keys.publishable },
    });
    expect({ status: res.status, auth: res.headers.get('www-authenticate'), body: await res.json() }).toEqual({
      status: 401,
      auth: 'Bearer',
      body: { code: '42501', details: null, hint: null, message: 'permission denied for table notes' },
    });
  });

  it('runs as the JWT role with PostgREST request settings', async () => {
    expect((await asAlice.rpc('whoami')).data).toEqual({ uid: alice.id, role: 'authenticated', method: 'POST' });
    expect((await asAnon.rpc('whoami', {}, { get: true })).data).toEqual({ uid: null, role: 'anon', method: 'GET' });
    expect((await asService.rpc('whoami')).data).toEqual({ uid: null, role: 'service_role', method: 'POST' });
  });
});

describe('tokens', () => {
  it('answers 401 PGRST303 for an expired token', async () => {
    const expired = await mintUser(stack, { email: 'late@example.com', expiresIn: -3600 });
    const res = await fetch(`${stack.apiUrl}/rest/v1/notes`, {
      headers: { apikey: stack.keys.publishable, authorization: `Bearer ${expired.token}` },
    });
    expect({ status: res.status, auth: res.headers.get('www-authenticate'), body: await res.json() }).toEqual({
      status: 401,
      auth: 'Bearer error="invalid_token", error_description="JWT expired"',
      body: { code: 'PGRST303', details: null, hint: null, message: 'JWT expired' },
    });
  });

  it('answers 401 PGRST301 for a token that is not a JWT', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/notes`, {
      headers: { apikey: stack.keys.publishable, authorization: 'Bearer not-a-jwt' },
    });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { code: 'PGRST301', details: null, hint: null, message: 'Expected 3 parts in JWT; got 1' },
    });
  });

  it('answers 401 PGRST301 for a token signed with another secret', async () => {
    const forged = `${alice.token.split('.').slice(0, 2).join('.')}.${Buffer.from('nope').toString('base64url')}`;
    const res = await fetch(`${stack.apiUrl}/rest/v1/notes`, {
      headers: { apikey: stack.keys.publishable, authorization: `Bearer ${forged}` },
    });
    expect({ status: res.status, code: (await res.json()).code }).toEqual({ status: 401, code: 'PGRST301' });
  });

  it('runs as a custom role from the JWT, with only that role\'s grants', async () => {
    await stack.db.query(`
      create role reporter nologin;
      grant reporter to authenticator;
      grant usage on schema public to reporter;
      grant select (id, name) on public.authors to reporter;`);
    const now = Math.floor(Date.now() / 1000);
    const token = await stack.jwt.sign({ role: 'reporter', sub: 'report-bot', iat: now, exp: now + 600 });
    const reporter = testClient(stack, { accessToken: token });
    const { data, error } = await reporter.from('authors').select('id, name').order('id').limit(1);
    expect({ data, error }).toEqual({ data: [{ id: 1, name: 'Ada' }], error: null });
    const denied = await reporter.from('authors').select('bio').limit(1);
    expect({ error: denied.error, status: denied.status }).toEqual({
      error: { code: '42501', details: null, hint: null, message: 'permission denied for table authors' },
      status: 403,
    });
  });

  it('answers 401 when the JWT names a role that does not exist', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await stack.jwt.sign({ role: 'ghost', iat: now, exp: now + 600 });
    const { error, status } = await testClient(stack, { accessToken: token }).from('authors').select('id');
    expect({ error, status }).toEqual({
      error: { code: '22023', details: null, hint: null, message: 'role "ghost" does not exist' },
      status: 401,
    });
  });
});
