import { z } from 'zod';
import { json, type RouteContext, type StorageDeps } from './deps.ts';
import { ERRORS } from './errors.ts';
import { mustBeValidBucketName, mustBeValidMimeTypeList, parseFileSizeToBytes } from './limits.ts';
import { findBucket, listBuckets } from './queries.ts';
import { authenticate } from './scope.ts';
import { parseBody, parseQuery } from './validate.ts';

const FileSizeLimit = z.union([z.number().int().min(0), z.string(), z.null()]).optional();
const MimeTypes = z.array(z.string()).nullish();

const CreateSchema = z.object({
  name: z.string(),
  id: z.string().optional(),
  public: z.boolean().optional(),
  type: z.enum(['STANDARD', 'ANALYTICS']).optional(),
  file_size_limit: FileSizeLimit,
  allowed_mime_types: MimeTypes,
});

const UpdateSchema = z
  .object({ public: z.boolean().optional(), file_size_limit: FileSizeLimit, allowed_mime_types: MimeTypes })
  .refine((b) => b.public !== undefined || b.file_size_limit !== undefined || b.allowed_mime_types !== undefined, {
    message: 'must match a schema in anyOf',
  });

const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).optional(),
  offset: z.coerce.number().int().min(0).optional(),
  sortColumn: z.enum(['id', 'name', 'created_at', 'updated_at']).optional(),
  sortOrder: z.enum(['asc', 'desc']).optional(),
  search: z.string().optional(),
});

/** Bucket limit in bytes: a number or `"20MB"`, never above the global limit (EntityTooLarge). */
function sizeLimit(deps: StorageDeps, value: number | string | null | undefined): number | null | undefined {
  if (value === undefined || value === null) return value;
  const bytes = typeof value === 'string' ? parseFileSizeToBytes(value) : value;
  if (bytes > deps.fileSizeLimit) throw ERRORS.entityTooLarge();
  return bytes;
}

function mimeTypes(value: string[] | null | undefined): string[] | null | undefined {
  if (!value) return value;
  const types = value.filter((t) => t);
  mustBeValidMimeTypeList(types);
  return types;
}

/** `GET /bucket`: buckets the caller's SELECT policies on storage.buckets show. */
export async function getBuckets(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const query = parseQuery(ctx.url, ListQuery);
  return json(await deps.db.run(caller, ctx.facts, (c) => listBuckets(c, query), true));
}

/** `GET /bucket/:id`. */
export async function getBucket(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const bucket = await deps.db.run(caller, ctx.facts, (c) => findBucket(c, ctx.bucket), true);
  if (!bucket) throw ERRORS.noSuchBucket();
  return json(bucket);
}

/** `POST /bucket`: an INSERT on storage.buckets as the caller (service_role bypasses RLS). */
export async function createBucket(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const body = await parseBody(ctx.request, CreateSchema);
  mustBeValidBucketName(body.name);
  const id = body.id || body.name;
  mustBeValidBucketName(id);
  // Analytics (Iceberg) buckets are a hosted feature the lite stack does not offer.
  if (body.type === 'ANALYTICS') throw ERRORS.invalidRequest('The feature iceberg_catalog is not enabled for this resource');
  const limit = sizeLimit(deps, body.file_size_limit);
  const types = mimeTypes(body.allowed_mime_types);
  const owner = caller.owner;
  await deps.db.run(caller, ctx.facts, async (c) => {
    try {
      await c.query(
        `insert into storage.buckets (id, name, owner, owner_id, public, file_size_limit, allowed_mime_types)
         values ($1, $2, $3, $4, $5, $6, $7)`,
        [
          id,
          body.name,
          owner && /^[0-9a-f-]{36}$/i.test(owner) ? owner : null,
          owner ?? null,
          body.public ?? false,
          limit ?? null,
          types ?? null,
        ],
      );
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw ERRORS.bucketAlreadyExists();
      throw error;
    }
  });
  return json({ name: body.name });
}

/** `PUT /bucket/:id`: changes only the fields given; an invisible or missing bucket is NoSuchBucket. */
export async function updateBucket(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  const body = await parseBody(ctx.request, UpdateSchema);
  const sets: string[] = [];
  const values: unknown[] = [];
  const limit = sizeLimit(deps, body.file_size_limit);
  const types = mimeTypes(body.allowed_mime_types);
  if (body.public !== undefined) {
    values.push(body.public);
    sets.push(`public = $${values.length}`);
  }
  if (limit !== undefined) {
    values.push(limit);
    sets.push(`file_size_limit = $${values.length}`);
  }
  if (types !== undefined) {
    values.push(types);
    sets.push(`allowed_mime_types = $${values.length}`);
  }
  values.push(ctx.bucket);
  const count = await deps.db.run(caller, ctx.facts, async (c) => {
    const result = await c.query(`update storage.buckets set ${sets.join(', ')}, updated_at = now() where id = $${values.length}`, values);
    return result.rowCount ?? 0;
  });
  if (count === 0) throw ERRORS.noSuchBucket();
  return json({ message: 'Successfully updated' });
}

/**
 * `DELETE /bucket/:id`: a bucket the caller cannot see is NoSuchBucket, as reading it is (upstream looks it up
 * as the superuser first and so tells a stranger `ResourceNotEmpty`, confirming it exists; the stack does not).
 * Then refused while any object remains (counted as the service role, so objects the caller cannot see still
 * count), then a DELETE as the caller.
 */
export async function deleteBucket(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  await deps.db.run(caller, ctx.facts, async (c) => {
    if (!(await findBucket(c, ctx.bucket, { columns: 'id' }))) throw ERRORS.noSuchBucket();
    await c.query("select set_config('role', 'service_role', true)");
    const bucket = await findBucket(c, ctx.bucket, { columns: 'id', forUpdate: true });
    if (!bucket) throw ERRORS.noSuchBucket();
    const { rows } = await c.query('select 1 from storage.objects where bucket_id = $1 limit 1', [ctx.bucket]);
    if (rows.length > 0) throw ERRORS.bucketNotEmpty();
    await c.query("select set_config('role', $1, true)", [caller.identity.role]);
    const result = await c.query('delete from storage.buckets where id = $1', [ctx.bucket]);
    if (!result.rowCount) throw ERRORS.noSuchBucket();
  });
  return json({ message: 'Successfully deleted' });
}

/**
 * `POST /bucket/:id/empty`: service role only. The refusal is HTTP 403 — the one Storage refusal that is not HTTP
 * 400, because upstream registers this route behind `enforceJwtRoles` whose error carries `withStatusCode(403)`
 * (supabase/storage `src/http/plugins/jwt.ts`); storage-js reports it as `status: 403`. Upstream queues the work; here
 * the rows are deleted in one transaction and the files unlinked after the commit, before answering.
 */
export async function emptyBucket(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  if (caller.identity.role !== 'service_role') throw ERRORS.accessDenied('Access denied: Invalid role', 403);
  mustBeValidBucketName(ctx.bucket);
  const versions = await deps.db.run(caller, ctx.facts, async (c) => {
    if (!(await findBucket(c, ctx.bucket, { columns: 'id' }))) throw ERRORS.noSuchBucket();
    const { rows } = await c.query<{ version: string | null }>(
      'delete from storage.objects where bucket_id = $1 returning version',
      [ctx.bucket],
    );
    return rows.map((r) => r.version);
  });
  await deps.blobs.remove(versions);
  return json({ message: 'Empty bucket has been queued. Completion may take up to an hour.' });
}

