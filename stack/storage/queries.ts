import type { TxClient } from '../db/pool.ts';
import { ERRORS } from './errors.ts';

/** A bucket row as the Storage API returns it. */
export interface BucketRow {
  id: string;
  name: string;
  owner: string | null;
  owner_id?: string | null;
  public: boolean;
  type?: string;
  file_size_limit: number | null;
  allowed_mime_types: string[] | null;
  created_at: Date;
  updated_at: Date;
}

/** A `storage.objects` row. */
export interface ObjectRow {
  id: string;
  bucket_id: string;
  name: string;
  owner: string | null;
  owner_id: string | null;
  version: string | null;
  metadata: ObjectMetadata | null;
  user_metadata: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  last_accessed_at: Date;
}

/** What `storage.objects.metadata` holds (the keys upstream writes). */
export interface ObjectMetadata {
  eTag: string;
  size: number;
  mimetype: string;
  cacheControl: string;
  lastModified: string;
  contentLength: number;
  httpStatusCode: number;
}

/** The columns an object row is written with. */
export interface ObjectWrite {
  bucketId: string;
  name: string;
  owner: string | undefined;
  version: string;
  metadata: Partial<ObjectMetadata> & Record<string, unknown>;
  userMetadata: Record<string, unknown> | null | undefined;
}

export const OBJECT_COLUMNS =
  'id, bucket_id, name, owner, owner_id, version, metadata, user_metadata, created_at, updated_at, last_accessed_at';
export const BUCKET_COLUMNS = 'id, name, owner, public, created_at, updated_at, file_size_limit, allowed_mime_types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `owner` (uuid, deprecated) is only set when `sub` is a UUID; `owner_id` always carries it (upstream rule). */
function ownerColumns(owner: string | undefined): [string | null, string | null] {
  return [owner && UUID.test(owner) ? owner : null, owner ?? null];
}

function normalizeBucket(row: BucketRow): BucketRow {
  // bigint arrives as a string from pg; the API returns a number.
  return { ...row, file_size_limit: row.file_size_limit === null ? null : Number(row.file_size_limit) };
}

export async function findBucket(
  client: TxClient,
  id: string,
  options: { columns?: string; isPublic?: boolean; forUpdate?: boolean } = {},
): Promise<BucketRow | undefined> {
  const values: unknown[] = [id];
  let where = 'id = $1';
  if (options.isPublic !== undefined) {
    values.push(options.isPublic);
    where += ' and public = $2';
  }
  const { rows } = await client.query<BucketRow>(
    `select ${options.columns ?? BUCKET_COLUMNS} from storage.buckets where ${where} limit 1${options.forUpdate ? ' for update' : ''}`,
    values,
  );
  return rows[0] ? normalizeBucket(rows[0]) : undefined;
}

export async function mustFindBucket(client: TxClient, id: string, options: Parameters<typeof findBucket>[2] = {}): Promise<BucketRow> {
  const bucket = await findBucket(client, id, options);
  if (!bucket) throw ERRORS.noSuchBucket();
  return bucket;
}

export async function listBuckets(
  client: TxClient,
  options: { limit?: number; offset?: number; search?: string; sortColumn?: string; sortOrder?: string },
): Promise<BucketRow[]> {
  const values: unknown[] = [];
  let sql = `select ${BUCKET_COLUMNS}, type from storage.buckets`;
  if (options.search) {
    values.push(`%${options.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    sql += ` where name ilike $${values.length}`;
  }
  if (options.sortColumn) sql += ` order by ${options.sortColumn} ${options.sortOrder === 'desc' ? 'desc' : 'asc'}`;
  if (options.limit !== undefined) {
    values.push(options.limit);
    sql += ` limit $${values.length}`;
  }
  if (options.offset !== undefined) {
    values.push(options.offset);
    sql += ` offset $${values.length}`;
  }
  const { rows } = await client.query<BucketRow>(sql, values);
  return rows.map(normalizeBucket);
}

export async function findObject(
  client: TxClient,
  bucketId: string,
  name: string,
  options: { forUpdate?: boolean } = {},
): Promise<ObjectRow | undefined> {
  const { rows } = await client.query<ObjectRow>(
    `select ${OBJECT_COLUMNS} from storage.objects where name = $1 and bucket_id = $2 limit 1${options.forUpdate ? ' for update' : ''}`,
    [name, bucketId],
  );
  return rows[0];
}

export async function mustFindObject(client: TxClient, bucketId: string, name: string, options: { forUpdate?: boolean } = {}): Promise<ObjectRow> {
  const row = await findObject(client, bucketId, name, options);
  if (!row) throw ERRORS.noSuchKey();
  return row;
}

function writeValues(write: ObjectWrite): unknown[] {
  const [owner, ownerId] = ownerColumns(write.owner);
  return [write.bucketId, write.name, owner, ownerId, write.version, JSON.stringify(write.metadata), write.userMetadata === undefined || write.userMetadata === null ? null : JSON.stringify(write.userMetadata)];
}

/**
 * Inserts a new object row. Without RETURNING, so that (as upstream) only an INSERT policy is needed.
 * A duplicate key is `KeyAlreadyExists` ("409").
 */
export async function insertObject(client: TxClient, write: ObjectWrite): Promise<void> {
  try {
    await client.query(
      `insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
       values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)`,
      writeValues(write),
    );
  } catch (error) {
    if ((error as { code?: string }).code === '23505') throw ERRORS.keyAlreadyExists();
    throw error;
  }
}

/** Insert-or-update (upstream's upsertObject): needs INSERT, and UPDATE + SELECT when the row exists. */
export async function upsertObject(client: TxClient, write: ObjectWrite): Promise<ObjectRow> {
  const { rows } = await client.query<ObjectRow>(
    `insert into storage.objects (bucket_id, name, owner, owner_id, version, metadata, user_metadata)
     values ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb)
     on conflict (name, bucket_id) do update
       set owner = excluded.owner, owner_id = excluded.owner_id, version = excluded.version,
           metadata = excluded.metadata, user_metadata = excluded.user_metadata
     returning ${OBJECT_COLUMNS}`,
    writeValues(write),
  );
  return rows[0];
}

/** Id of a row just written (service role, no RLS involved). */
export async function objectId(client: TxClient, bucketId: string, name: string): Promise<string> {
  const { rows } = await client.query<{ id: string }>('select id from storage.objects where bucket_id = $1 and name = $2', [bucketId, name]);
  return rows[0].id;
}

/** `versions` that some row references (for the start-up sweep). */
export async function referencedVersions(client: TxClient, versions: string[]): Promise<Set<string>> {
  const { rows } = await client.query<{ version: string }>(
    'select version from storage.objects where version = any($1::text[])',
    [versions],
  );
  return new Set(rows.map((r) => r.version));
}
