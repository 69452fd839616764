import type { ProjectConfig } from '../config.ts';
import { mustBeValidBucketName, mustBeValidMimeTypeList } from './limits.ts';
import type { StorageDb } from './scope.ts';

/**
 * Creates or updates the buckets of `[storage.buckets.<id>]` (public, file_size_limit, allowed_mime_types), as
 * `supabase start` does; buckets not in config.toml are left alone. A limit above the global
 * `[storage] file_size_limit` fails the start, naming the bucket.
 */
export async function syncConfigBuckets(
  db: StorageDb,
  buckets: ProjectConfig['storage']['buckets'],
  globalLimit: number,
  log: (line: string) => void,
): Promise<void> {
  for (const [id, bucket] of Object.entries(buckets)) {
    try {
      mustBeValidBucketName(id);
      if (bucket.allowed_mime_types) mustBeValidMimeTypeList(bucket.allowed_mime_types);
    } catch (error) {
      throw new Error(`supabase/config.toml [storage.buckets.${id}]: ${(error as Error).message}`);
    }
    if (bucket.file_size_limit !== undefined && bucket.file_size_limit > globalLimit) {
      throw new Error(
        `supabase/config.toml [storage.buckets.${id}]: file_size_limit ${bucket.file_size_limit} exceeds [storage] file_size_limit ${globalLimit}`,
      );
    }
    await db.admin((c) =>
      c.query(
        `insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
         values ($1, $1, $2, $3, $4)
         on conflict (id) do update
           set public = excluded.public, file_size_limit = excluded.file_size_limit,
               allowed_mime_types = excluded.allowed_mime_types, updated_at = now()`,
        [id, bucket.public, bucket.file_size_limit ?? null, bucket.allowed_mime_types ?? null],
      ),
    );
    log(`Storage: bucket ${id} ready`);
  }
}
