import { z } from 'zod';
import { json, type RouteContext, type StorageDeps } from './deps.ts';
import { ERRORS } from './errors.ts';
import { mustBeValidBucketName, mustBeValidKey } from './limits.ts';
import { findObject, insertObject, mustFindObject, objectId, OBJECT_COLUMNS, upsertObject, type ObjectRow, type ObjectWrite } from './queries.ts';
import { authenticate } from './scope.ts';
import { discardUncommitted } from './uploads.ts';
import { parseBody } from './validate.ts';
import type { TxClient } from '../db/pool.ts';

const TransferSchema = z.object({
  bucketId: z.string(),
  sourceKey: z.string(),
  destinationKey: z.string(),
  destinationBucket: z.string().nullish(),
  metadata: z.object({ cacheControl: z.string().optional(), mimetype: z.string().optional() }).optional(),
  copyMetadata: z.boolean().optional(),
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function renameRow(
  c: TxClient,
  from: { bucket: string; key: string },
  to: { bucket: string; key: string },
  owner: string | undefined,
): Promise<string> {
  const { rows } = await c.query<{ id: string }>(
    `update storage.objects set name = $1, bucket_id = $2, owner = $3, owner_id = $4
      where bucket_id = $5 and name = $6 returning id`,
    [to.key, to.bucket, owner && UUID.test(owner) ? owner : null, owner ?? null, from.bucket, from.key],
  );
  if (rows.length === 0) throw ERRORS.noSuchKey();
  return rows[0].id;
}

/** The validated body, source and destination of a move or copy (the destination bucket defaults to the source's). */
async function parseTransfer(request: Request) {
  const body = await parseBody(request, TransferSchema);
  const from = { bucket: body.bucketId, key: body.sourceKey };
  const to = { bucket: body.destinationBucket || body.bucketId, key: body.destinationKey };
  mustBeValidBucketName(from.bucket);
  mustBeValidBucketName(to.bucket);
  mustBeValidKey(from.key);
  mustBeValidKey(to.key);
  return { body, from, to };
}

/**
 * `POST /object/move`: the caller needs SELECT on the source and UPDATE on it (to its new name), tested as
 * the caller and rolled back, then the rename runs as the service role (upstream's order). Bytes are named by
 * version, so a move is a row update and nothing moves on disk.
 */
export async function moveObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const { from, to } = await parseTransfer(ctx.request);
  const sourceId = await deps.db.testPermission(caller, ctx.facts, async (c) => {
    const source = await mustFindObject(c, from.bucket, from.key);
    await renameRow(c, from, to, caller.owner);
    return source.id;
  });
  if (from.bucket === to.bucket && from.key === to.key) {
    return json({ message: 'Successfully moved', Id: sourceId, Key: to.key });
  }
  const id = await deps.db.asService(ctx.facts, async (c) => {
    await mustFindObject(c, from.bucket, from.key, { forUpdate: true });
    return renameRow(c, from, to, caller.owner);
  });
  return json({ message: 'Successfully moved', Id: id, Key: to.key });
}

/**
 * `POST /object/copy` (`x-upsert` honoured): SELECT on the source and the upload permission (INSERT, or
 * INSERT+SELECT+UPDATE with upsert) on the destination, tested as the caller; then the bytes are copied to a
 * temp file and committed like an upload.
 */
export async function copyObject(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  const { body, from, to } = await parseTransfer(ctx.request);
  const upsert = ctx.request.headers.get('x-upsert') === 'true';
  const xMetadata = ctx.request.headers.get('x-metadata');
  let headerMetadata: Record<string, unknown> | undefined;
  try {
    headerMetadata = xMetadata ? JSON.parse(Buffer.from(xMetadata, 'base64').toString('utf8')) : undefined;
  } catch {
    headerMetadata = undefined;
  }
  const copyMetadata = body.copyMetadata ?? true;

  const plan = (source: ObjectRow, version: string): ObjectWrite => {
    const metadata: Record<string, unknown> = { ...(source.metadata ?? {}) };
    if (!copyMetadata) {
      if (body.metadata?.cacheControl !== undefined) metadata.cacheControl = body.metadata.cacheControl;
      if (body.metadata?.mimetype !== undefined) metadata.mimetype = body.metadata.mimetype;
    }
    return {
      bucketId: to.bucket,
      name: to.key,
      owner: caller.owner,
      version,
      metadata,
      userMetadata: copyMetadata ? source.user_metadata : headerMetadata,
    };
  };

  const source = await deps.db.testPermission(caller, ctx.facts, async (c) => {
    const row = await mustFindObject(c, from.bucket, from.key);
    const probe = plan(row, deps.blobs.newVersion());
    if (upsert) await upsertObject(c, probe);
    else await insertObject(c, probe);
    return row;
  });
  if (!source.version) throw ERRORS.noSuchKey();
  const tempPath = await deps.blobs.duplicate(source.version);
  const version = deps.blobs.newVersion();
  const write = { ...plan(source, version), metadata: { ...plan(source, version).metadata, lastModified: new Date().toISOString() } };
  let placed = false;
  let result: { row: ObjectRow; replaced: string | null };
  try {
    result = await deps.db.asService(ctx.facts, async (c) => {
      let replaced: string | null = null;
      if (upsert) {
        replaced = (await findObject(c, to.bucket, to.key, { forUpdate: true }))?.version ?? null;
        await upsertObject(c, write);
      } else {
        await insertObject(c, write);
      }
      const id = await objectId(c, to.bucket, to.key);
      const { rows } = await c.query<ObjectRow>(`select ${OBJECT_COLUMNS} from storage.objects where id = $1`, [id]);
      await deps.blobs.place(tempPath, version);
      placed = true;
      return { row: rows[0], replaced };
    });
  } catch (error) {
    await discardUncommitted(deps, tempPath, placed ? version : undefined);
    throw error;
  }
  if (result.replaced && result.replaced !== version) await deps.blobs.remove([result.replaced]);
  return json({ Id: result.row.id, Key: `${to.bucket}/${to.key}`, ...result.row });
}
