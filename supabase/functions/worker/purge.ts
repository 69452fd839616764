import { DOCUMENTS_BUCKET } from '../_shared/buckets.ts';
import type { Client } from '../_shared/routes.ts';

const PAGE = 100;

/**
 * Removes every file of a deleted user from bucket `documents` (their folder `{user_id}/`), through the Storage
 * API so the bytes go too. Safe to repeat: a second run finds nothing. Returns how many files it removed.
 */
export async function purgeUserFiles(client: Client, userId: string): Promise<number> {
  const bucket = client.storage.from(DOCUMENTS_BUCKET);
  let removed = 0;
  for (;;) {
    const { data, error } = await bucket.list(userId, { limit: PAGE });
    if (error) throw error;
    const names = (data ?? []).filter((entry) => entry.id !== null).map((entry) => `${userId}/${entry.name}`);
    if (names.length === 0) return removed;
    const result = await bucket.remove(names);
    if (result.error) throw result.error;
    removed += names.length;
  }
}
