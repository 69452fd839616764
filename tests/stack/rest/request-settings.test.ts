import { describe, expect, it } from 'vitest';
import { useRestStack } from './helpers.ts';

// What a request exposes to SQL, read back by a function: PostgREST's settings, set in the request's transaction.
const t = useRestStack((stack) =>
  stack.db.query(`
    create function public.request_facts() returns json language sql stable set search_path = '' as $$
      select pg_catalog.json_build_object(
        'role', current_user,
        'claims_role', pg_catalog.current_setting('request.jwt.claims', true)::json ->> 'role',
        'method', pg_catalog.current_setting('request.method', true),
        'path', pg_catalog.current_setting('request.path', true),
        'headers', pg_catalog.current_setting('request.headers', true)::json,
        'cookies', pg_catalog.current_setting('request.cookies', true)::json)
    $$;
    grant execute on function public.request_facts() to anon, service_role;`),
);

interface Facts {
  role: string;
  claims_role: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  cookies: Record<string, string>;
}

async function facts(headers: Record<string, string>, method = 'GET'): Promise<Facts> {
  const res = await fetch(`${t.stack.apiUrl}/rest/v1/rpc/request_facts`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'POST' ? '{}' : undefined,
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Facts;
}

describe('request settings visible to SQL', () => {
  it('shows the role, claims, method, path, headers (with the API key translated) and cookies of the request', async () => {
    const got = await facts({ apikey: t.stack.keys.publishable, 'x-trace': 'abc', cookie: 'a=1; b=two' });
    expect({ role: got.role, claims_role: got.claims_role, method: got.method, path: got.path, cookies: got.cookies }).toEqual({
      role: 'anon',
      claims_role: 'anon',
      method: 'GET',
      path: '/rpc/request_facts',
      cookies: { a: '1', b: 'two' },
    });
    // The gateway swapped the publishable key for the anon JWT, as the CLI's Kong does; the service sees that.
    expect(got.headers).toMatchObject({ authorization: `Bearer ${t.stack.keys.anon}`, apikey: t.stack.keys.publishable, 'x-trace': 'abc' });
  });

  it("passes a user's bearer token through and runs as its role", async () => {
    const got = await facts({ apikey: t.stack.keys.publishable, authorization: `Bearer ${t.stack.keys.serviceRole}` }, 'POST');
    expect({ role: got.role, claims_role: got.claims_role, method: got.method }).toEqual({ role: 'service_role', claims_role: 'service_role', method: 'POST' });
    expect(got.headers.authorization).toBe(`Bearer ${t.stack.keys.serviceRole}`);
    expect(got.cookies).toEqual({});
  });

  it('translates the secret key to the service role', async () => {
    const got = await facts({ apikey: t.stack.keys.secret });
    expect({ role: got.role, authorization: got.headers.authorization }).toEqual({ role: 'service_role', authorization: `Bearer ${t.stack.keys.serviceRole}` });
  });
});
