import { json, type RouteContext, type StorageDeps } from './deps.ts';
import { maxFileSize, mustBeValidBucketName, mustBeValidKey } from './limits.ts';
import { findObject, insertObject, mustFindBucket, objectId, referencedVersions, upsertObject, type ObjectWrite } from './queries.ts';
import { authenticate, type Caller } from './scope.ts';
import { SIGNED_UPLOAD_URL_EXPIRES_IN } from './tokens.ts';
import { parseMetadataHeader, readUpload } from './upload-body.ts';
import { ERRORS } from './errors.ts';

interface UploadOptions {
  /** The caller whose RLS permission is tested first; `undefined` for signed uploads (the token is the permission). */
  caller: Caller | undefined;
  owner: string | undefined;
  upsert: boolean;
}

/**
 * Stores one object: bucket lookup (404), the body's MIME type and declared size against the bucket (415/413),
 * the insert-then-rollback RLS test as the caller (403/409), streaming into a temp file with the size enforced
 * as bytes arrive (413), then one transaction that writes the row and moves the file into place before
 * commit (see blobs.ts for why this order). The final write runs as the service role, as upstream's does.
 */
async function storeObject(deps: StorageDeps, ctx: RouteContext, options: UploadOptions): Promise<{ id: string; key: string }> {
  const { bucket: bucketId, key, facts } = ctx;
  mustBeValidBucketName(bucketId);
  mustBeValidKey(key);
  const bucket = await deps.db.asService(
    facts,
    (c) => mustFindBucket(c, bucketId, { columns: 'id, file_size_limit, allowed_mime_types' }),
    true,
  );
  const source = await readUpload(ctx.request, {
    key,
    maxFileSize: maxFileSize(deps.fileSizeLimit, bucket.file_size_limit),
    allowedMimeTypes: bucket.allowed_mime_types,
  });
  try {
    const write = (version: string, metadata: ObjectWrite['metadata']): ObjectWrite => ({
      bucketId,
      name: key,
      owner: options.owner,
      version,
      metadata,
      userMetadata: source.userMetadata,
    });
    if (options.caller) {
      const probe = write(deps.blobs.newVersion(), { mimetype: source.mimeType, contentLength: source.declaredLength });
      await deps.db.testPermission(options.caller, facts, async (c) => {
        if (options.upsert) await upsertObject(c, probe);
        else await insertObject(c, probe);
      });
    }
    const temp = await deps.blobs.receive(source.stream, source.maxFileSize);
    try {
      await source.settle();
    } catch (error) {
      await deps.blobs.discardTemp(temp.path);
      throw error;
    }
    const version = deps.blobs.newVersion();
    const metadata = {
      eTag: temp.eTag,
      size: temp.size,
      mimetype: source.mimeType,
      cacheControl: source.cacheControl,
      lastModified: new Date().toISOString(),
      contentLength: temp.size,
      httpStatusCode: 200,
    };
    let placed = false;
    let result: { id: string; replaced: string | null };
    try {
      result = await deps.db.asService(facts, async (c) => {
        let replaced: string | null = null;
        if (options.upsert) {
          replaced = (await findObject(c, bucketId, key, { forUpdate: true }))?.version ?? null;
          await upsertObject(c, write(version, metadata));
        } else {
          await insertObject(c, write(version, metadata));
        }
        const id = await objectId(c, bucketId, key);
        await deps.blobs.place(temp.path, version);
        placed = true;
        return { id, replaced };
      });
    } catch (error) {
      await discardUncommitted(deps, temp.path, placed ? version : undefined);
      throw error;
    }
    if (result.replaced && result.replaced !== version) await deps.blobs.remove([result.replaced]);
    return { id: result.id, key: `${bucketId}/${key}` };
  } catch (error) {
    source.abandon();
    throw error;
  }
}

/**
 * After a failed commit: removes the temp file, or the placed file unless a row does reference it (a commit
 * whose outcome was lost with the connection), so a committed row never loses its bytes.
 */
export async function discardUncommitted(deps: StorageDeps, tempPath: string, placedVersion: string | undefined): Promise<void> {
  await deps.blobs.discardTemp(tempPath);
  if (!placedVersion) return;
  const referenced = await deps.db.admin((c) => referencedVersions(c, [placedVersion])).catch(() => new Set([placedVersion]));
  if (!referenced.has(placedVersion)) await deps.blobs.remove([placedVersion]);
}

/** `POST /object/:bucket/*` (upload, `x-upsert`) and `PUT /object/:bucket/*` (update = upsert). */
export async function uploadObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const upsert = ctx.request.method === 'PUT' || ctx.request.headers.get('x-upsert') === 'true';
  const { id, key } = await storeObject(deps, ctx, { caller, owner: caller.owner, upsert });
  return json({ Id: id, Key: key });
}

/** `POST /object/upload/sign/:bucket/*`: checks the caller may upload there, then signs a 2-hour upload token. */
export async function createSignedUploadUrl(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const { bucket: bucketId, key, facts, request } = ctx;
  mustBeValidBucketName(bucketId);
  mustBeValidKey(key);
  const upsert = request.headers.get('x-upsert') === 'true';
  await deps.db.asService(facts, (c) => mustFindBucket(c, bucketId, { columns: 'id' }), true);
  const userMetadata = parseMetadataHeader(request.headers.get('x-metadata'));
  const length = request.headers.get('content-length');
  const probe: ObjectWrite = {
    bucketId,
    name: key,
    owner: caller.owner,
    version: deps.blobs.newVersion(),
    metadata: { mimetype: request.headers.get('content-type') ?? undefined, contentLength: length ? Number(length) : undefined },
    userMetadata,
  };
  await deps.db.testPermission(caller, facts, async (c) => {
    if (upsert) await upsertObject(c, probe);
    else await insertObject(c, probe);
  });
  const url = `${bucketId}/${key}`;
  const token = await deps.tokens.sign({ owner: caller.owner, url, upsert, scope: 'upload' }, SIGNED_UPLOAD_URL_EXPIRES_IN);
  return json({ url: `/object/upload/sign/${url}?token=${token}`, token });
}

/** `PUT /object/upload/sign/:bucket/*?token=`: no API key or JWT; the token carries owner and upsert. */
export async function uploadToSignedUrl(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  mustBeValidBucketName(ctx.bucket);
  mustBeValidKey(ctx.key);
  const token = ctx.url.searchParams.get('token');
  if (!token) throw ERRORS.invalidRequest('querystring must have required property \'token\'');
  const claims = await deps.tokens.verify(token, ctx.bucket, ctx.key, 'upload');
  const { key } = await storeObject(deps, ctx, {
    caller: undefined,
    owner: typeof claims.owner === 'string' ? claims.owner : undefined,
    upsert: claims.upsert === true,
  });
  return json({ Key: key });
}
