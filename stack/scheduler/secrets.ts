import { isLiteVersion } from '../db/extensions/index.ts';
import type { Db } from '../db/pool.ts';

/**
 * The Vault secrets the stack keeps current at every start, for the product's cron jobs to read
 * (`select decrypted_secret from vault.decrypted_secrets where name = 'project_url'`): the stack's API URL, which
 * differs per test stack, and its secret API key. On hosted Supabase they are set once with vault.create_secret.
 */
export const STACK_SECRETS = {
  projectUrl: 'project_url',
  workerSecret: 'worker_secret',
} as const;

/**
 * Creates or updates {@link STACK_SECRETS} in the lite stack's own Vault. A real supabase_vault (a `--db-url`
 * database) is left alone: its secrets belong to that project. Returns whether it wrote them.
 */
export async function upsertStackSecrets(
  db: Db,
  values: { apiUrl: string; secretKey: string },
  log: (line: string) => void,
): Promise<boolean> {
  const { rows } = await db.query<{ extversion: string }>(
    `select extversion from pg_catalog.pg_extension where extname = 'supabase_vault'`,
  );
  if (rows.length === 0) return false;
  if (!isLiteVersion(rows[0].extversion)) {
    log(`Vault: supabase_vault ${rows[0].extversion} is not the lite stack's; left ${Object.values(STACK_SECRETS).join(', ')} alone`);
    return false;
  }
  const secrets: Array<[name: string, value: string, description: string]> = [
    [STACK_SECRETS.projectUrl, values.apiUrl, 'Lite stack: its API URL, set at every start'],
    [STACK_SECRETS.workerSecret, values.secretKey, 'Lite stack: its secret API key, set at every start'],
  ];
  await db.tx(async (client) => {
    for (const [name, value, description] of secrets) {
      const found = await client.query<{ id: string }>('select id from vault.secrets where name = $1', [name]);
      if (found.rows.length > 0) await client.query('select vault.update_secret($1, $2)', [found.rows[0].id, value]);
      else await client.query('select vault.create_secret($1, $2, $3)', [value, name, description]);
    }
  });
  log(`Vault: set ${secrets.map(([name]) => name).join(' and ')} for ${values.apiUrl}`);
  return true;
}
