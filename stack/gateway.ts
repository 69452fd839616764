import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiKeys } from './defaults.ts';

/** Read access to request headers: a `Headers`, or the gateway's view of one with the API key translated. */
export interface HeaderReader {
  get(name: string): string | null;
  has(name: string): boolean;
  /** Every header once, by lower-case name in ascending order, as `Headers` iterates them. */
  forEach(fn: (value: string, name: string) => void): void;
}

/**
 * A request as the gateway hands it to a service that takes it without a copy ({@link Service.forward}): the path
 * with the route's prefix removed, the query, the headers as the service must see them, and the body as text.
 */
export interface ForwardedRequest {
  readonly method: string;
  readonly pathname: string;
  readonly searchParams: URLSearchParams;
  readonly headers: HeaderReader;
  text(): Promise<string>;
}

/** A response as plain data (status, headers by lower-case name, a text body or none). */
export interface PlainResponse {
  status: number;
  headers: Record<string, string>;
  body: string | null;
}

/** A {@link PlainResponse} as a Web `Response`, with `extra` headers added. */
export function toResponse(plain: PlainResponse, extra?: Record<string, string>): Response {
  return new Response(plain.body, { status: plain.status, headers: extra ? { ...plain.headers, ...extra } : plain.headers });
}

/** Anything that answers Web requests: each API behind the gateway is one. */
export interface Service {
  fetch(request: Request): Response | Promise<Response>;
  /**
   * Optional: answers a request the gateway passes on as it is, with a view of its headers, rather than as a new
   * `Request` with copied headers (for a service that needs neither a body stream nor an abort signal).
   */
  forward?(request: ForwardedRequest): Response | Promise<Response>;
  /**
   * Optional, with `forward`: the same answer as plain data, which the gateway writes straight to Node's response
   * for a bodyless request (no `Request`, `Response` or `Headers` objects on the way).
   */
  plain?(request: ForwardedRequest): Promise<PlainResponse>;
  close?(): Promise<void>;
}

/** The APIs the gateway routes to, by URL prefix. A missing one answers 404 like an unmatched Kong route. */
export interface Services {
  auth?: Service;
  rest?: Service;
  storage?: Service;
  functions?: Service;
}

const ROUTES: Array<{ prefix: string; service: keyof Services }> = [
  { prefix: '/auth/v1', service: 'auth' },
  { prefix: '/rest/v1', service: 'rest' },
  { prefix: '/storage/v1', service: 'storage' },
  { prefix: '/functions/v1', service: 'functions' },
];

const REST_PREFIX = ROUTES.find((r) => r.service === 'rest')!.prefix;

function routeOf(pathname: string): (typeof ROUTES)[number] | undefined {
  return ROUTES.find((r) => pathname === r.prefix || pathname.startsWith(`${r.prefix}/`));
}

/**
 * Paths a browser or a link reaches without an API key: email/OAuth redirects, the public JWKS, public and
 * signed Storage URLs, and Edge Functions (which check their own callers).
 */
const KEYLESS = [
  /^\/auth\/v1\/(verify|callback|authorize)(\/|$)/,
  /^\/auth\/v1\/\.well-known\/jwks\.json$/,
  /^\/storage\/v1\/object\/(public|sign|upload\/sign)\//,
  /^\/storage\/v1\/render\/image\/(public|sign)\//,
  /^\/functions\/v1\//,
];

/** Headers browsers may read from API responses (the union of what GoTrue, PostgREST and Storage expose). */
const EXPOSED_HEADERS = [
  'Content-Range',
  'Range-Unit',
  'Content-Profile',
  'Content-Location',
  'Content-Encoding',
  'Location',
  'X-Total-Count',
  'Link',
  'X-Supabase-Api-Version',
  'X-Sb-Error-Code',
  'Content-Type',
  'Content-Length',
  'ETag',
  'Proxy-Status',
].join(', ');

const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';
const DEFAULT_ALLOWED_HEADERS = 'authorization, x-client-info, apikey, content-type, x-retry-count, x-upsert, prefer, range';

/** The key material the gateway needs to translate API keys. */
export interface GatewayOptions {
  keys: ApiKeys;
  services: Services;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** The CORS headers of an API response (one that set none of its own), as a plain record. */
function corsHeaders(origin: string | null): Record<string, string> {
  return {
    'access-control-allow-origin': origin ?? '*',
    ...(origin ? { 'access-control-allow-credentials': 'true' } : {}),
    vary: 'Origin',
    'access-control-expose-headers': EXPOSED_HEADERS,
  };
}

function addCors(headers: Headers, origin: string | null): void {
  // Function responses are the function's own business, except when it set no CORS headers at all.
  const cors = corsHeaders(origin);
  if (!headers.has('access-control-allow-origin')) {
    for (const [name, value] of Object.entries(cors)) {
      if (name === 'vary') headers.append(name, value);
      else if (name !== 'access-control-expose-headers') headers.set(name, value);
    }
  }
  if (!headers.has('access-control-expose-headers')) headers.set('access-control-expose-headers', cors['access-control-expose-headers']);
}

function withCors(response: Response, origin: string | null): Response {
  // In place when the headers are mutable (the stack's own responses): the body is left untouched, so a string body
  // is written out as it is rather than pumped through a stream. A fetch() response (functions) is copied.
  try {
    addCors(response.headers, origin);
    return response;
  } catch {
    const headers = new Headers(response.headers);
    addCors(headers, origin);
    return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
  }
}

function preflight(request: Request): Response {
  const origin = request.headers.get('origin');
  return new Response(null, {
    status: 204,
    headers: {
      'access-control-allow-origin': origin ?? '*',
      ...(origin ? { 'access-control-allow-credentials': 'true', vary: 'Origin' } : {}),
      'access-control-allow-methods': ALLOWED_METHODS,
      'access-control-allow-headers': request.headers.get('access-control-request-headers') ?? DEFAULT_ALLOWED_HEADERS,
      'access-control-expose-headers': EXPOSED_HEADERS,
      'access-control-max-age': '86400',
    },
  });
}

/**
 * The rule of the CLI's Kong (contract §1.3): a user JWT passes through; an opaque `sb_` key is swapped for the
 * JWT of its role; any other apikey is copied into Authorization as it is (without `Bearer `, as Kong does).
 */
export function translateAuthorization(headers: Headers, apikey: string | null, keys: ApiKeys): void {
  const authorization = translatedAuthorization(headers.get('authorization'), apikey, keys);
  if (authorization !== null) headers.set('authorization', authorization);
}

/** The Authorization header a service sees under {@link translateAuthorization}'s rule. */
function translatedAuthorization(authorization: string | null, apikey: string | null, keys: ApiKeys): string | null {
  if (authorization && !authorization.startsWith('Bearer sb_')) return authorization;
  if (apikey === keys.secret) return `Bearer ${keys.serviceRole}`;
  if (apikey === keys.publishable) return `Bearer ${keys.anon}`;
  if (apikey) return apikey;
  return authorization;
}

/** A request's headers with Authorization replaced, without copying them. */
class ForwardedHeaders implements HeaderReader {
  constructor(
    private readonly base: Headers,
    private readonly authorization: string | null,
  ) {}

  get(name: string): string | null {
    return name.toLowerCase() === 'authorization' ? this.authorization : this.base.get(name);
  }

  has(name: string): boolean {
    return this.get(name) !== null;
  }

  forEach(fn: (value: string, name: string) => void): void {
    // In `Headers` order (ascending names), with Authorization in its place.
    let pending = this.authorization;
    this.base.forEach((value, name) => {
      if (pending !== null && name > 'authorization') {
        fn(pending, 'authorization');
        pending = null;
      }
      if (name !== 'authorization') fn(value, name);
    });
    if (pending !== null) fn(pending, 'authorization');
  }
}

/**
 * Request headers as Node received them, read as `Headers` reads them (names in lower case, repeated headers joined
 * with ", ", ascending order), with Authorization replaced.
 */
class NodeHeaders implements HeaderReader {
  private readonly byName = new Map<string, string>();

  constructor(raw: string[]) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      const seen = this.byName.get(name);
      this.byName.set(name, seen === undefined ? raw[i + 1] : `${seen}, ${raw[i + 1]}`);
    }
  }

  setAuthorization(value: string | null): void {
    if (value === null) this.byName.delete('authorization');
    else this.byName.set('authorization', value);
  }

  get(name: string): string | null {
    return this.byName.get(name.toLowerCase()) ?? null;
  }

  has(name: string): boolean {
    return this.byName.has(name.toLowerCase());
  }

  forEach(fn: (value: string, name: string) => void): void {
    for (const name of [...this.byName.keys()].sort()) fn(this.byName.get(name)!, name);
  }
}

/** The gateway: a {@link Service}, and a shortcut for Node's HTTP server. */
export interface Gateway extends Service {
  /**
   * Answers a GET or HEAD for the Data API with a valid API key straight on Node's request and response, as
   * {@link Service.fetch} would answer it but without `Request`, `Response` or `Headers` objects; returns false for
   * any other request, which the caller then hands to `fetch`.
   */
  node(req: IncomingMessage, res: ServerResponse): boolean;
}

/**
 * The API gateway (Kong's part): routes `/auth/v1`, `/rest/v1`, `/storage/v1` and `/functions/v1` to their
 * services with the prefix stripped, requires a known API key like the hosted gateway, translates keys, and
 * answers CORS.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { keys, services } = options;
  const validKeys = new Set([keys.anon, keys.serviceRole, keys.publishable, keys.secret]);

  return {
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const route = routeOf(url.pathname);
      const origin = request.headers.get('origin');
      // Edge Functions answer their own preflights (they must on hosted Supabase too).
      if (request.method === 'OPTIONS' && route?.service !== 'functions') return preflight(request);
      if (url.pathname === '/health' || url.pathname === '/') {
        return withCors(json(200, { status: 'ok', services: Object.keys(services) }), origin);
      }

      // Kong matches a route before its key-auth plugin runs: a path no service owns is a 404 with or without a key.
      const service = route ? services[route.service] : undefined;
      if (!route || !service) {
        return withCors(json(404, { message: 'no Route matched with those values' }), origin);
      }

      const apikey = request.headers.get('apikey') ?? url.searchParams.get('apikey');
      const keyless = KEYLESS.some((re) => re.test(url.pathname));
      if (!keyless) {
        if (!apikey) {
          return withCors(
            json(401, { message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' }),
            origin,
          );
        }
        if (!validKeys.has(apikey)) {
          return withCors(
            json(401, { message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' }),
            origin,
          );
        }
      }

      const pathname = url.pathname.slice(route.prefix.length) || '/';
      if (service.forward) {
        const authorization = translatedAuthorization(request.headers.get('authorization'), apikey, keys);
        const forwarded: ForwardedRequest = {
          method: request.method,
          pathname,
          searchParams: url.searchParams,
          headers: new ForwardedHeaders(request.headers, authorization),
          text: () => request.text(),
        };
        return withCors(await service.forward(forwarded), origin);
      }
      const headers = new Headers(request.headers);
      translateAuthorization(headers, apikey, keys);
      const inner = new URL(url);
      inner.pathname = pathname;
      const hasBody = request.method !== 'GET' && request.method !== 'HEAD' && request.body !== null;
      const forwarded = new Request(inner, {
        method: request.method,
        headers,
        body: hasBody ? request.body : undefined,
        signal: request.signal,
        // Request bodies stream through (uploads are never buffered here).
        ...(hasBody ? { duplex: 'half' } : {}),
      } as RequestInit);
      return withCors(await service.fetch(forwarded), origin);
    },

    node(req: IncomingMessage, res: ServerResponse): boolean {
      const service = services.rest;
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !service?.plain || !req.url?.startsWith(REST_PREFIX)) return false;
      const url = new URL(req.url, 'http://gateway.local');
      if (routeOf(url.pathname)?.service !== 'rest') return false;
      const headers = new NodeHeaders(req.rawHeaders);
      const apikey = headers.get('apikey') ?? url.searchParams.get('apikey');
      // Without a known key `fetch` answers (401 as Kong does).
      if (!apikey || !validKeys.has(apikey)) return false;
      headers.setAuthorization(translatedAuthorization(headers.get('authorization'), apikey, keys));
      const cors = corsHeaders(headers.get('origin'));
      const forwarded: ForwardedRequest = {
        method: req.method,
        pathname: url.pathname.slice(REST_PREFIX.length) || '/',
        searchParams: url.searchParams,
        headers,
        text: async () => '',
      };
      void (async () => {
        try {
          const plain = await service.plain!(forwarded);
          res.writeHead(plain.status, { ...plain.headers, ...cors });
          res.end(plain.body ?? undefined);
        } catch (error) {
          // The Data API answers its own errors; this is a failure of the stack itself (or a header Node refuses).
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(String((error as Error)?.message ?? error));
        }
      })();
      return true;
    },
  };
}
