import type { Stack } from '../../../stack/index.ts';

/** The auth test project (non-default jwt_expiry, password rules, refresh_token_reuse_interval = 0). */
export const AUTH_PROJECT = new URL('../../fixtures/auth-project', import.meta.url).pathname;

/** A password that satisfies the auth test project's rules (8+ characters, letters and digits). */
export const PASSWORD = 'correct-horse-42';

/** A raw response: status, headers and the parsed JSON body (or text, or null when empty). */
export interface RawResponse {
  status: number;
  headers: Headers;
  body: unknown;
}

/** Options for {@link callAuth}. */
export interface CallOptions {
  method?: string;
  /** JSON-encoded unless a string. */
  body?: unknown;
  /** `Authorization: Bearer <token>`. */
  token?: string;
  /** API key header; default the publishable key; `null` sends none. */
  apikey?: string | null;
  /** `X-Supabase-Api-Version`; default `2024-01-01` as auth-js sends; `null` sends none (legacy error shape). */
  apiVersion?: string | null;
  headers?: Record<string, string>;
}

/** Calls `/auth/v1<path>` through the gateway with plain fetch, for what supabase-js cannot show (headers, bodies). */
export async function callAuth(stack: Stack, path: string, options: CallOptions = {}): Promise<RawResponse> {
  const headers: Record<string, string> = { ...options.headers };
  const apikey = options.apikey === undefined ? stack.keys.publishable : options.apikey;
  if (apikey !== null) headers.apikey = apikey;
  const apiVersion = options.apiVersion === undefined ? '2024-01-01' : options.apiVersion;
  if (apiVersion !== null) headers['X-Supabase-Api-Version'] = apiVersion;
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${stack.apiUrl}/auth/v1${path}`, { method: options.method ?? 'GET', headers, body });
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** The observable parts of an auth-js error, to assert whole error objects. */
export function errorShape(error: unknown): Record<string, unknown> | null {
  if (!error) return null;
  const e = error as { name: string; message: string; status?: number; code?: string; reasons?: string[] };
  return {
    name: e.name,
    message: e.message,
    status: e.status,
    code: e.code,
    ...(e.reasons ? { reasons: e.reasons } : {}),
  };
}
