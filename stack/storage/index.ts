import type { StackContext } from '../context.ts';
import { RoleSettings } from '../db/request-role.ts';
import type { Service } from '../gateway.ts';
import { BlobStore } from './blobs.ts';
import { syncConfigBuckets } from './config-buckets.ts';
import type { StorageDeps } from './deps.ts';
import { referencedVersions } from './queries.ts';
import { handle } from './router.ts';
import { authenticate, StorageDb } from './scope.ts';
import { UrlTokens } from './tokens.ts';

/**
 * The Storage API (`/storage/v1`, mounted by the gateway with the prefix stripped): what storage-js calls,
 * with object rows in `storage.objects` under RLS and bytes under `<workDir>/storage/` (see blobs.ts for the
 * crash-safe write order). At start it sweeps leftovers of interrupted writes and creates or updates the
 * buckets declared in `supabase/config.toml`, as the CLI does.
 */
export async function createStorageService(ctx: StackContext): Promise<Service | undefined> {
  const service = await authenticate(ctx.jwt, `Bearer ${ctx.keys.serviceRole}`);
  const db = new StorageDb(ctx.db, new RoleSettings(ctx.db), service);
  const blobs = new BlobStore(ctx.workDir);
  await blobs.init();
  const swept = await blobs.sweep((versions) => db.admin((c) => referencedVersions(c, versions)));
  if (swept.temp + swept.orphans > 0) {
    ctx.log(`Storage: removed ${swept.temp} unfinished upload(s) and ${swept.orphans} unreferenced file(s)`);
  }
  await syncConfigBuckets(db, ctx.config.storage.buckets, ctx.config.storage.file_size_limit, ctx.log);
  const deps: StorageDeps = {
    db,
    blobs,
    tokens: new UrlTokens(ctx.jwt),
    jwt: ctx.jwt,
    fileSizeLimit: ctx.config.storage.file_size_limit,
    log: ctx.log,
  };
  return { fetch: (request) => handle(deps, request) };
}
