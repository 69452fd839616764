import { allUsers, type CliContext, findUser, table, unwrap, uuidArgument } from './context.ts';
import { CliError } from './errors.ts';

const STATUSES = ['queued', 'processing', 'ready', 'failed'] as const;
type Status = (typeof STATUSES)[number];
const COLUMNS = 'id, owner_id, name, status, progress, attempts, error_code, error, chunk_count, page_count, generation, updated_at';

function statusArgument(value: string | undefined): Status | undefined {
  if (value === undefined) return undefined;
  if (!(STATUSES as readonly string[]).includes(value)) {
    throw new CliError('invalid_input', `--status must be one of ${STATUSES.join(', ')}, got "${value}".`);
  }
  return value as Status;
}

function limitArgument(value: string | undefined): number {
  const n = Number(value ?? 50);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new CliError('invalid_input', `--limit must be 1–1000, got "${value}".`);
  return n;
}

async function emails(ctx: CliContext): Promise<Map<string, string | undefined>> {
  return new Map((await allUsers(ctx)).map((u) => [u.id, u.email]));
}

function progressText(progress: unknown): string {
  if (!progress || typeof progress !== 'object') return '';
  const p = progress as Record<string, unknown>;
  return [p.stage, p.done !== undefined && p.total !== undefined ? `${p.done}/${p.total}` : undefined].filter(Boolean).join(' ');
}

/** `documents [--user] [--status] [--limit]`: documents newest first with their processing state. */
export async function listDocuments(ctx: CliContext, options: { user?: string; status?: string; limit?: string }): Promise<void> {
  const status = statusArgument(options.status);
  const limit = limitArgument(options.limit);
  let query = ctx.admin.from('documents').select(COLUMNS).order('created_at', { ascending: false }).limit(limit);
  if (options.user) query = query.eq('owner_id', (await findUser(ctx, options.user)).id);
  if (status) query = query.eq('status', status);
  const docs = unwrap(ctx, await query, 'Reading documents');
  const owners = await emails(ctx);
  const rows = docs.map((d) => ({ ...d, owner: owners.get(d.owner_id) ?? d.owner_id }));
  ctx.print(rows, () =>
    table(
      rows.map((r) => ({ ...r, progress: progressText(r.progress), error: r.error_code ? `${r.error_code}: ${r.error ?? ''}` : r.error })),
      ['id', 'owner', 'name', 'status', 'progress', 'attempts', 'chunk_count', 'error', 'updated_at'],
    ),
  );
}

/** `jobs`: the ingestion work not finished yet or failed — counts by status, then each such document. */
export async function listJobs(ctx: CliContext, options: { limit?: string }): Promise<void> {
  const limit = limitArgument(options.limit);
  const counts: Record<string, number> = {};
  for (const status of STATUSES) {
    const result = await ctx.admin.from('documents').select('id', { count: 'exact', head: true }).eq('status', status);
    unwrap(ctx, result, 'Counting documents');
    counts[status] = result.count ?? 0;
  }
  const docs = unwrap(
    ctx,
    await ctx.admin.from('documents').select(COLUMNS).neq('status', 'ready').order('updated_at', { ascending: false }).limit(limit),
    'Reading documents',
  );
  const owners = await emails(ctx);
  const jobs = docs.map((d) => ({ ...d, owner: owners.get(d.owner_id) ?? d.owner_id }));
  ctx.print({ counts, jobs }, () =>
    [
      STATUSES.map((s) => `${s}: ${counts[s]}`).join('  '),
      '',
      table(
        jobs.map((j) => ({ ...j, progress: progressText(j.progress), error: j.error_code ? `${j.error_code}: ${j.error ?? ''}` : '' })),
        ['id', 'owner', 'name', 'status', 'progress', 'attempts', 'error', 'updated_at'],
      ),
    ].join('\n'),
  );
}

/**
 * `reprocess <document-id>`: processes a document again. The owner's way (setting `status` to queued) is refused to
 * the service role by design, so the CLI writes the file again over itself (Storage upsert, service role): a new
 * version of the object re-queues its document on every project, hosted or local.
 */
export async function reprocess(ctx: CliContext, id: string, options: { force?: boolean }): Promise<void> {
  uuidArgument(id, 'document id');
  const doc = unwrap(
    ctx,
    await ctx.admin.from('documents').select('id, bucket_id, storage_path, name, status, mime_type, generation').eq('id', id).maybeSingle(),
    'Reading the document',
  );
  if (!doc) throw new CliError('not_found', `No document ${id}.`);
  if (!options.force && doc.status !== 'ready' && doc.status !== 'failed') {
    throw new CliError('conflict', `Document ${doc.name} is ${doc.status}; only ready or failed documents are reprocessed (--force to do it anyway).`);
  }
  const bucket = ctx.admin.storage.from(doc.bucket_id);
  ctx.progress(`Downloading ${doc.storage_path}…`);
  const blob = unwrap(ctx, await bucket.download(doc.storage_path), 'Downloading the file');
  ctx.progress(`Writing it again (${blob.size} bytes) to queue it…`);
  unwrap(
    ctx,
    await bucket.upload(doc.storage_path, blob, { upsert: true, contentType: doc.mime_type ?? 'application/octet-stream' }),
    'Uploading the file',
  );
  const after = unwrap(ctx, await ctx.admin.from('documents').select('id, name, status, generation').eq('id', id).single(), 'Reading the document');
  ctx.print(after, () => `Queued ${after.name} again (generation ${after.generation}, status ${after.status}).`);
}
