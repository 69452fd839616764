import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { json, type RouteContext, type StorageDeps } from './deps.ts';
import { ERRORS } from './errors.ts';
import { mustBeValidBucketName, mustBeValidKey } from './limits.ts';
import { findBucket, mustFindObject, OBJECT_COLUMNS, type ObjectRow } from './queries.ts';
import { infoBody, renderObject } from './render.ts';
import { authenticate, type Caller } from './scope.ts';
import { mustBeValidExpiresIn } from './tokens.ts';
import { parseBody } from './validate.ts';

/**
 * Finds an object for reading and opens its bytes in the same transaction: as the service role when the
 * bucket is public (no policy needed, as upstream), else as the caller so RLS decides (invisible = NoSuchKey).
 */
async function openForCaller(deps: StorageDeps, ctx: RouteContext, caller: Caller, withFile: boolean) {
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const bucket = await deps.db.asService(ctx.facts, (c) => findBucket(c, ctx.bucket, { columns: 'id, public' }), true);
  if (!bucket) throw ERRORS.noSuchBucket();
  const scope = bucket.public ? deps.db.service : caller;
  return deps.db.run(
    scope,
    ctx.facts,
    async (c) => {
      const row = await mustFindObject(c, ctx.bucket, ctx.key);
      const file: FileHandle | undefined = withFile ? await deps.blobs.open(row.version) : undefined;
      return { row, file };
    },
    true,
  );
}

async function openAsService(deps: StorageDeps, ctx: RouteContext, bucketId: string, key: string, publicOnly: boolean) {
  return deps.db.asService(
    ctx.facts,
    async (c) => {
      const bucket = await findBucket(c, bucketId, { columns: 'id, public', isPublic: publicOnly ? true : undefined });
      if (!bucket) throw ERRORS.noSuchBucket();
      const row = await mustFindObject(c, bucketId, key);
      return { row, file: await deps.blobs.open(row.version) };
    },
    true,
  );
}

function downloadParam(ctx: RouteContext): string | null {
  return ctx.url.searchParams.get('download');
}

/** `GET|HEAD /object/:bucket/*` and `/object/authenticated/:bucket/*`. */
export async function getObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const head = ctx.request.method === 'HEAD';
  const { row, file } = await openForCaller(deps, ctx, caller, true);
  return renderObject(file!, row, ctx.request, { head, download: downloadParam(ctx) });
}

/** `GET|HEAD /object/public/:bucket/*`: no JWT needed; only buckets marked public (else NoSuchBucket). */
export async function getPublicObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const { row, file } = await openAsService(deps, ctx, ctx.bucket, ctx.key, true);
  return renderObject(file, row, ctx.request, { head: ctx.request.method === 'HEAD', download: downloadParam(ctx) });
}

/** `GET|HEAD /object/sign/:bucket/*?token=`: the token (scope download, url = bucket/key, not expired) is the permission. */
export async function getSignedObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const token = ctx.url.searchParams.get('token');
  if (!token) throw ERRORS.invalidRequest("querystring must have required property 'token'");
  await deps.tokens.verify(token, ctx.bucket, ctx.key, 'download');
  const { row, file } = await openAsService(deps, ctx, ctx.bucket, ctx.key, false);
  return renderObject(file, row, ctx.request, { head: ctx.request.method === 'HEAD', download: downloadParam(ctx) });
}

/** `GET /object/info/:bucket/*` (and `/info/authenticated/…`). */
export async function getObjectInfo(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const { row } = await openForCaller(deps, ctx, caller, false);
  return json(infoBody(row), 200, row.metadata?.eTag ? { etag: row.metadata.eTag } : {});
}

/** `GET /object/info/public/:bucket/*`. */
export async function getPublicObjectInfo(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const row = await deps.db.asService(
    ctx.facts,
    async (c) => {
      if (!(await findBucket(c, ctx.bucket, { columns: 'id', isPublic: true }))) throw ERRORS.noSuchBucket();
      return mustFindObject(c, ctx.bucket, ctx.key);
    },
    true,
  );
  return json(infoBody(row));
}

const ListSchema = z.object({
  prefix: z.string(),
  limit: z.number().int().min(1).optional(),
  offset: z.number().int().min(0).optional(),
  sortBy: z
    .object({
      column: z.enum(['name', 'updated_at', 'created_at', 'last_accessed_at']),
      order: z.enum(['asc', 'desc']).optional(),
    })
    .optional(),
  search: z.string().optional(),
});

/** `POST /object/list/:bucket`: `storage.search()` as the caller, so RLS filters what is listed. */
export async function listObjects(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  const body = await parseBody(ctx.request, ListSchema);
  const prefix = body.prefix.length > 0 && !body.prefix.endsWith('/') ? `${body.prefix}/` : body.prefix;
  const rows = await deps.db.run(
    caller,
    ctx.facts,
    async (c) =>
      (
        await c.query('select * from storage.search($1, $2, $3, $4, $5, $6, $7, $8)', [
          prefix,
          ctx.bucket,
          body.limit ?? 100,
          (prefix + (body.search ?? '')).split('/').length,
          body.offset ?? 0,
          body.search ?? '',
          body.sortBy?.column ?? 'name',
          body.sortBy?.order ?? 'asc',
        ])
      ).rows,
    true,
  );
  return json(rows);
}

const RemoveSchema = z.object({ prefixes: z.array(z.string()).min(1, 'must NOT have fewer than 1 items').max(1000) });

/** `DELETE /object/:bucket` `{prefixes}`: deletes what the caller's DELETE (and SELECT) policies allow. */
export async function removeObjects(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  const { prefixes } = await parseBody(ctx.request, RemoveSchema);
  const rows = await deps.db.run(caller, ctx.facts, async (c) =>
    (
      await c.query<ObjectRow>(
        `delete from storage.objects where bucket_id = $1 and name = any($2::text[]) returning ${OBJECT_COLUMNS}`,
        [ctx.bucket, prefixes],
      )
    ).rows,
  );
  await deps.blobs.remove(rows.map((r) => r.version));
  return json(rows);
}

/** `DELETE /object/:bucket/*`: one object; invisible → NoSuchKey, visible but not deletable → AccessDenied. */
export async function removeObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const deleted = await deps.db.run(caller, ctx.facts, async (c) =>
    (
      await c.query<{ version: string | null }>(
        'delete from storage.objects where bucket_id = $1 and name = $2 returning version',
        [ctx.bucket, ctx.key],
      )
    ).rows,
  );
  if (deleted.length === 0) {
    await deps.db.asService(ctx.facts, (c) => mustFindObject(c, ctx.bucket, ctx.key), true);
    throw ERRORS.accessDenied('Access denied');
  }
  await deps.blobs.remove(deleted.map((r) => r.version));
  return json({ message: 'Successfully deleted' });
}

const SignSchema = z.object({ expiresIn: z.number() });

/** `POST /object/sign/:bucket/*` `{expiresIn}`: the caller must be able to SELECT the object. */
export async function signUrl(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const { expiresIn } = await parseBody(ctx.request, SignSchema);
  const seconds = mustBeValidExpiresIn(expiresIn);
  await deps.db.run(caller, ctx.facts, (c) => mustFindObject(c, ctx.bucket, ctx.key), true);
  const url = `${ctx.bucket}/${ctx.key}`;
  const token = await deps.tokens.sign({ url, scope: 'download' }, seconds);
  return json({ signedURL: `/object/sign/${url}?token=${token}` });
}

const SignManySchema = z.object({ expiresIn: z.number(), paths: z.array(z.string()).min(1, 'must NOT have fewer than 1 items') });

/** `POST /object/sign/:bucket` `{expiresIn, paths}`: one entry per path, an error for those the caller cannot see. */
export async function signUrls(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  const { expiresIn, paths } = await parseBody(ctx.request, SignManySchema);
  const seconds = mustBeValidExpiresIn(expiresIn);
  const visible = await deps.db.run(
    caller,
    ctx.facts,
    async (c) =>
      new Set(
        (
          await c.query<{ name: string }>('select name from storage.objects where bucket_id = $1 and name = any($2::text[])', [
            ctx.bucket,
            paths,
          ])
        ).rows.map((r) => r.name),
      ),
    true,
  );
  const results = await Promise.all(
    paths.map(async (path) => {
      if (!visible.has(path)) {
        return { error: 'Either the object does not exist or you do not have access to it', path, signedURL: null };
      }
      const url = `${ctx.bucket}/${path}`;
      const token = await deps.tokens.sign({ url, scope: 'download' }, seconds);
      return { error: null, path, signedURL: `/object/sign/${url}?token=${token}` };
    }),
  );
  return json(results);
}
