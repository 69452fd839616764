import { type AuthUser, AuthError, type TokenVerifier } from '../../supabase/functions/_shared/auth.ts';
import type { Logger, LogLevel } from '../../supabase/functions/_shared/log.ts';
import type { Client, UserRouteDeps } from '../../supabase/functions/_shared/routes.ts';
import type { Stack } from '../../stack/index.ts';
import { testClient } from '../helpers/stack.ts';

// Fakes for in-process tests of a function's app (`createApp(fakeDeps).request(…)`): they cover validation,
// authentication and error mapping fast. What the real Data API, Storage and Deno do is tested end to end.

/** The one token {@link fakeUserDeps} accepts, and the user it stands for. */
export const USER_TOKEN = 'user-token';
export const USER: AuthUser = {
  id: '6f1d2a7c-2b1e-4c55-9a43-0c8f1f1b2d3e',
  email: 'ada@example.com',
  role: 'authenticated',
  claims: {} as AuthUser['claims'],
};

const verifyToken: TokenVerifier = async (token) => {
  if (token === USER_TOKEN) return USER;
  throw new AuthError('invalid_token', 'Token is malformed.');
};

/** What a fake Data API / Storage answers to one request: JSON with a status, like PostgREST would. */
export type FakeAnswer = { status: number; body?: unknown; headers?: Record<string, string> };

/** A request the fake received, for assertions on what the app asked. */
export interface FakeRequest {
  method: string;
  path: string;
  search: URLSearchParams;
  headers: Headers;
}

/**
 * Route deps whose client is the real supabase-js talking to `answer` instead of a server, so the app's own
 * query building and error mapping run unchanged. `requests` records what was asked.
 */
export function fakeUserDeps(answer: (request: FakeRequest) => FakeAnswer = () => ({ status: 200, body: [] })) {
  const requests: FakeRequest[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const seen = { method: request.method, path: url.pathname, search: url.searchParams, headers: request.headers };
    requests.push(seen);
    const { status, body, headers } = answer(seen);
    return new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json', ...headers },
    });
  };
  const nowhere = { apiUrl: 'http://fake.local', keys: { publishable: 'publishable-key' } } as Stack;
  const userClient = (token: string) => testClient(nowhere, { accessToken: token, fetch }) as unknown as Client;
  const deps: UserRouteDeps = { verifyToken, userClient };
  return { deps, requests };
}

/** A PostgREST error body. */
export function postgrestError(code: string, message = `error ${code}`) {
  return { code, message, details: null, hint: null };
}

/** A logger that keeps its lines, to assert what a 500 logged. */
export function recordingLogger() {
  const lines: Array<{ level: LogLevel; message: string; fields: Record<string, unknown> }> = [];
  const logger: Logger = {
    log: (level, message, fields = {}) => lines.push({ level, message, fields }),
    child: () => logger,
  };
  return { lines, logger };
}

/** `Authorization` header of the accepted user. */
export const asUser = { authorization: `Bearer ${USER_TOKEN}` };
