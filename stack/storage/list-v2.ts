import { z } from 'zod';
import { json, type RouteContext, type StorageDeps } from './deps.ts';
import { ERRORS } from './errors.ts';
import { mustBeValidBucketName } from './limits.ts';
import { authenticate } from './scope.ts';
import { parseBody } from './validate.ts';

const MAX_KEYS = 1000;

const ListV2Schema = z.object({
  prefix: z.string().optional(),
  limit: z.number().int().min(1, 'must be >= 1').optional(),
  cursor: z.string().optional(),
  with_delimiter: z.boolean().optional(),
  sortBy: z
    .object({ column: z.enum(['name', 'updated_at', 'created_at']), order: z.enum(['asc', 'desc']).optional() })
    .optional(),
});

/** Where the previous page ended: the last entry's name and, when sorting by a time, its time. */
interface Cursor {
  after: string;
  column: 'name' | 'updated_at' | 'created_at';
  order: 'asc' | 'desc';
  time?: string;
}

interface Entry {
  id: string | null;
  name: string;
  metadata: unknown;
  updated_at: Date | null;
  created_at: Date | null;
  last_accessed_at: Date | null;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** A cursor is opaque to clients; one that does not decode is upstream's `InvalidParameter`. */
function decodeCursor(text: string): Cursor {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<Cursor>;
    if (
      typeof value.after === 'string' &&
      (value.column === 'name' || value.column === 'updated_at' || value.column === 'created_at') &&
      (value.order === 'asc' || value.order === 'desc') &&
      (value.time === undefined || (typeof value.time === 'string' && !Number.isNaN(Date.parse(value.time))))
    ) {
      return value as Cursor;
    }
  } catch {
    // falls through to the error
  }
  throw ERRORS.invalidParameter('continuation token');
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * The SQL of one page. Without a delimiter every object under the prefix is an entry; with `/` as delimiter an
 * object deeper than one level below the prefix counts toward its folder (`<prefix><segment>/`), one entry per
 * folder, dated by its first creation and last update. Entries are ordered by the sort column (truncated to
 * milliseconds, as the cursor carries it) then by name in byte order, and the cursor continues strictly after
 * the last entry. Runs as the caller, so RLS decides which objects (and hence folders) exist.
 */
function pageQuery(bucket: string, prefix: string, delimiter: boolean, cursor: Cursor, first: boolean, limit: number) {
  const values: unknown[] = [bucket, `${escapeLike(prefix)}%`];
  if (delimiter) values.push(prefix.length);
  const folderOf = `case when strpos(substr(name, $3 + 1), '/') > 0 then left(name, $3 + strpos(substr(name, $3 + 1), '/')) end`;
  const source = delimiter
    ? `with entries as (
         select ${folderOf} as folder, id, name, metadata, updated_at, created_at, last_accessed_at
           from storage.objects where bucket_id = $1 and name like $2
       ), listed as (
         select folder as name, null::uuid as id, null::jsonb as metadata, max(updated_at) as updated_at,
                min(created_at) as created_at, null::timestamptz as last_accessed_at
           from entries where folder is not null group by folder
         union all
         select name, id, metadata, updated_at, created_at, last_accessed_at from entries where folder is null
       )
       select id, name, metadata, updated_at, created_at, last_accessed_at from listed`
    : `select id, name, metadata, updated_at, created_at, last_accessed_at from storage.objects
        where bucket_id = $1 and name like $2`;
  const where: string[] = [];
  const direction = cursor.order === 'desc' ? 'desc' : 'asc';
  const op = direction === 'asc' ? '>' : '<';
  const time = cursor.column === 'name' ? undefined : `date_trunc('milliseconds', ${cursor.column})`;
  if (!first) {
    values.push(cursor.after);
    if (time) {
      values.push(cursor.time ?? null);
      where.push(`(${time}, name collate "C") ${op} (coalesce($${values.length}::timestamptz, 'epoch'::timestamptz), $${values.length - 1})`);
    } else {
      where.push(`name collate "C" ${op} $${values.length}`);
    }
  }
  values.push(limit + 1);
  const filtered = delimiter
    ? `${source}${where.length ? ` where ${where.join(' and ')}` : ''}`
    : `${source}${where.length ? ` and ${where.join(' and ')}` : ''}`;
  const order = `${time ? `${time} ${direction}, ` : ''}name collate "C" ${direction}`;
  return { text: `${filtered} order by ${order} limit $${values.length}`, values };
}

/**
 * `POST /object/list-v2/:bucket` (storage-js `listV2`): `{prefix, limit ≤ 1000, cursor, with_delimiter, sortBy}` →
 * `{hasNext, nextCursor?, nextCursorKey?, folders, objects}` with full keys as names and folders ending in `/`,
 * as the Storage API answers.
 */
export async function listObjectsV2(deps: StorageDeps, ctx: RouteContext): Promise<Response> {
  const caller = await authenticate(deps.jwt, ctx.request.headers.get('authorization'));
  mustBeValidBucketName(ctx.bucket);
  const body = await parseBody(ctx.request, ListV2Schema);
  const limit = Math.min(body.limit ?? MAX_KEYS, MAX_KEYS);
  const prefix = body.prefix ?? '';
  const cursor: Cursor = body.cursor
    ? decodeCursor(body.cursor)
    : { after: '', column: body.sortBy?.column ?? 'name', order: body.sortBy?.order ?? 'asc' };
  const query = pageQuery(ctx.bucket, prefix, body.with_delimiter === true, cursor, !body.cursor, limit);
  const rows = await deps.db.run(caller, ctx.facts, async (c) => (await c.query<Entry>(query.text, query.values)).rows, true);

  const page = rows.slice(0, limit);
  const folders = page.filter((r) => r.id === null).map((r) => ({ name: r.name, key: r.name }));
  const objects = page
    .filter((r) => r.id !== null)
    .map((r) => ({
      id: r.id,
      name: r.name,
      key: r.name,
      metadata: r.metadata,
      updated_at: r.updated_at,
      created_at: r.created_at,
      last_accessed_at: r.last_accessed_at,
    }));
  const hasNext = rows.length > limit;
  if (!hasNext) return json({ hasNext, folders, objects });
  const last = page[page.length - 1];
  const time = cursor.column === 'name' ? undefined : last[cursor.column];
  const next: Cursor = { after: last.name, column: cursor.column, order: cursor.order, time: time ? new Date(time).toISOString() : undefined };
  return json({ hasNext, nextCursor: encodeCursor(next), nextCursorKey: last.name, folders, objects });
}
