import { createBucket, deleteBucket, emptyBucket, getBucket, getBuckets, updateBucket } from './buckets.ts';
import type { RouteContext, StorageDeps } from './deps.ts';
import { errorResponse, ERRORS, toStorageError } from './errors.ts';
import {
  getObject,
  getObjectInfo,
  getPublicObject,
  getPublicObjectInfo,
  getSignedObject,
  listObjects,
  removeObject,
  removeObjects,
  signUrl,
  signUrls,
} from './objects.ts';
import { listObjectsV2 } from './list-v2.ts';
import { guardBody } from './request-body.ts';
import { copyObject, moveObject } from './transfer.ts';
import { createSignedUploadUrl, uploadObject, uploadToSignedUrl } from './uploads.ts';

type Handler = (deps: StorageDeps, ctx: RouteContext) => Promise<Response>;

interface Route {
  methods: string[];
  /** Literal segments, `:b` (one segment: bucket or bucket id) and a trailing `*` (the rest: the object key). */
  pattern: string[];
  handler: Handler;
}

function route(methods: string, pattern: string, handler: Handler): Route {
  return { methods: methods.split('|'), pattern: pattern.split('/').filter(Boolean), handler };
}

// Literal routes come before parametric ones, as in the upstream router (a bucket named `list` is still
// reachable through `/object/<bucket>/<key>`, but `/object/list/<bucket>` is the list route).
const ROUTES: Route[] = [
  route('GET', '/bucket', getBuckets),
  route('POST', '/bucket', createBucket),
  route('POST', '/bucket/:b/empty', emptyBucket),
  route('GET', '/bucket/:b', getBucket),
  route('PUT', '/bucket/:b', updateBucket),
  route('DELETE', '/bucket/:b', deleteBucket),
  route('POST', '/object/list/:b', listObjects),
  route('POST', '/object/list-v2/:b', listObjectsV2),
  route('POST', '/object/move', moveObject),
  route('POST', '/object/copy', copyObject),
  route('POST', '/object/sign/:b/*', signUrl),
  route('POST', '/object/sign/:b', signUrls),
  route('GET|HEAD', '/object/sign/:b/*', getSignedObject),
  route('POST', '/object/upload/sign/:b/*', createSignedUploadUrl),
  route('PUT', '/object/upload/sign/:b/*', uploadToSignedUrl),
  route('GET|HEAD', '/object/public/:b/*', getPublicObject),
  route('GET', '/object/info/public/:b/*', getPublicObjectInfo),
  route('GET', '/object/info/authenticated/:b/*', getObjectInfo),
  route('GET', '/object/info/:b/*', getObjectInfo),
  route('GET|HEAD', '/object/authenticated/:b/*', getObject),
  route('GET|HEAD', '/object/:b/*', getObject),
  route('POST|PUT', '/object/:b/*', uploadObject),
  route('DELETE', '/object/:b/*', removeObject),
  route('DELETE', '/object/:b', removeObjects),
];

interface Match {
  route: Route;
  bucket: string;
  key: string;
}

/** Percent-decodes a path piece; malformed escapes make the key invalid rather than crashing. */
function decode(raw: string, asKey: boolean): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw asKey ? ERRORS.invalidKey(raw) : ERRORS.invalidBucketName();
  }
}

/**
 * Matches on the still-encoded path so that an encoded `/` (`%2F`) inside a key never changes which route
 * is taken; the bucket and key are decoded afterwards (and then validated by the handlers, which is where
 * `..%2F` or `%5C` are refused).
 */
function match(method: string, pathname: string): Match | undefined {
  const segments = pathname.split('/').slice(1);
  for (const candidate of ROUTES) {
    if (!candidate.methods.includes(method)) continue;
    const { pattern } = candidate;
    const wildcard = pattern[pattern.length - 1] === '*';
    const fixed = wildcard ? pattern.length - 1 : pattern.length;
    if (wildcard ? segments.length < pattern.length : segments.length !== fixed) continue;
    let bucket = '';
    let ok = true;
    for (let i = 0; i < fixed; i += 1) {
      if (pattern[i] === ':b') {
        if (segments[i] === '') ok = false;
        else bucket = segments[i];
      } else if (pattern[i] !== segments[i]) {
        ok = false;
      }
      if (!ok) break;
    }
    if (!ok) continue;
    const rawKey = wildcard ? segments.slice(fixed).join('/') : '';
    return { route: candidate, bucket: decode(bucket, false), key: wildcard ? decode(rawKey, true) : '' };
  }
  return undefined;
}

function notFound(request: Request, url: URL): Response {
  return new Response(
    JSON.stringify({
      statusCode: '404',
      error: 'Not Found',
      message: `Route ${request.method}:${url.pathname}${url.search} not found`,
      code: 'InvalidRequest',
    }),
    { status: 404, headers: { 'content-type': 'application/json; charset=utf-8' } },
  );
}

/**
 * Routes one request (path already stripped of `/storage/v1`) and renders any failure as a storage error. Whatever
 * the handler left of the request body is read and dropped, before the answer or (a long rest) while it is read;
 * only a client gone mid-body gets `Connection: close` (see {@link guardBody}).
 */
export async function handle(deps: StorageDeps, request: Request): Promise<Response> {
  const guarded = guardBody(request);
  const response = await dispatch(deps, guarded.request);
  if (await guarded.drain()) return response;
  const headers = new Headers(response.headers);
  headers.set('connection', 'close');
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

async function dispatch(deps: StorageDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  try {
    const found = match(request.method, url.pathname);
    if (!found) return notFound(request, url);
    return await found.route.handler(deps, {
      request,
      url,
      bucket: found.bucket,
      key: found.key,
      facts: { method: request.method, path: url.pathname, headers: request.headers },
    });
  } catch (thrown) {
    const { error, unexpected } = toStorageError(thrown);
    if (unexpected) deps.log(`storage: ${request.method} ${url.pathname} failed: ${(thrown as Error)?.stack ?? String(thrown)}`);
    return errorResponse(error);
  }
}
