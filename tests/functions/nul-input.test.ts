import { AuthApiError } from '@supabase/supabase-js';
import { describe, expect, it } from 'vitest';
import { createApp as createChat } from '../../supabase/functions/chat/app.ts';
import { createApp as createDocuments } from '../../supabase/functions/documents/app.ts';
import { createApp as createToken } from '../../supabase/functions/token/app.ts';
import { createApp as createUpload } from '../../supabase/functions/upload/app.ts';
import { asUser, fakeUserDeps } from './fake-deps.ts';

// U+0000 in any validated input is refused by the kit (createFunctionApp) as 400 validation_failed before a
// handler, Supabase Auth or the database sees it: Postgres cannot store it, and a 5xx would be retried by clients.
const quiet = { log() {}, child() { return this; } };
const unusable = new Proxy({}, { get: () => { throw new Error('must not be used'); } }) as never;

const nulRefused = (path: string) => ({
  error: {
    code: 'validation_failed',
    message: 'The request is invalid.',
    details: [{ path, code: 'invalid_string', message: 'Must not contain the NUL character (\\u0000).' }],
  },
});

function json(body: unknown, method = 'POST') {
  return { method, headers: { ...asUser, 'content-type': 'application/json' }, body: JSON.stringify(body) };
}

describe('NUL characters in function input', () => {
  it('chat: refuses a question holding U+0000 and a chat title holding one, asking nothing of the Data API', async () => {
    const { deps, requests } = fakeUserDeps();
    const chat = createChat({ ...deps, serviceClient: unusable, llm: unusable, embedder: unusable, logger: quiet });
    const question = {
      id: crypto.randomUUID(),
      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'what is \u0000 here?' }] }],
    };
    const asked = await chat.request('/chat', json(question));
    expect(asked.status).toBe(400);
    expect(await asked.json()).toEqual(nulRefused('json.messages.0.parts.0.text'));
    const renamed = await chat.request(`/chat/chats/${crypto.randomUUID()}`, json({ title: 'a\u0000b' }, 'PATCH'));
    expect(renamed.status).toBe(400);
    expect(await renamed.json()).toEqual(nulRefused('json.title'));
    expect(requests).toEqual([]);
  });

  it('upload: refuses a signed-upload file name holding U+0000', async () => {
    const { deps, requests } = fakeUserDeps();
    const upload = createUpload({ ...deps, logger: quiet });
    const response = await upload.request('/upload/sign', json({ name: 'report\u0000.pdf' }));
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(nulRefused('json.name'));
    expect(requests).toEqual([]);
  });

  it('documents: refuses a query parameter holding U+0000', async () => {
    const { deps, requests } = fakeUserDeps();
    const documents = createDocuments({ ...deps, logger: quiet });
    const response = await documents.request('/documents?cursor=%00', { headers: asUser });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(nulRefused('query.cursor'));
    expect(requests).toEqual([]);
  });
});

describe('token: U+0000 and Auth refusals stay 4xx', () => {
  function token(authError?: AuthApiError) {
    const calls: string[] = [];
    const auth = {
      async signInWithPassword(credentials: { email?: string }) {
        calls.push(`password:${credentials.email}`);
        return { data: { session: null }, error: authError ?? null };
      },
      async refreshSession() {
        calls.push('refresh');
        return { data: { session: null }, error: authError ?? null };
      },
    };
    return { app: createToken({ authClient: () => auth as never, logger: quiet }), calls };
  }
  const form = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });

  it('answers invalid_request for a username or refresh token holding U+0000, calling Auth never', async () => {
    const { app, calls } = token();
    const username = await app.request('/token', form('grant_type=password&username=%00%40x.y&password=pw'));
    expect(username.status).toBe(400);
    expect(await username.json()).toEqual({ error: 'invalid_request', error_description: 'Parameter username is invalid.' });
    const refresh = await app.request('/token', form('grant_type=refresh_token&refresh_token=%00'));
    expect(await refresh.json()).toEqual({ error: 'invalid_request', error_description: 'Parameter refresh_token is invalid.' });
    expect(calls).toEqual([]);
  });

  it('maps an Auth 4xx it has no rule for to 400 invalid_grant, never a 5xx', async () => {
    for (const error of [new AuthApiError('Invalid input', 400, 'bad_json'), new AuthApiError('Unprocessable', 422, undefined)]) {
      const response = await token(error).app.request('/token', form('grant_type=password&username=a%40x.y&password=pw'));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ error: 'invalid_grant', error_description: 'Invalid username or password.' });
    }
  });
});
