import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { STACK_SECRETS } from '../../../stack/scheduler/index.ts';
import { tempProject, type TempProject } from '../../helpers/project.ts';
import { startTestStack } from '../../helpers/stack.ts';

let project: TempProject;
let stack: Stack;

beforeAll(async () => {
  project = await tempProject();
  stack = await startTestStack({ projectDir: project.dir, scheduler: false });
});
afterAll(async () => {
  await stack?.stop();
  await project?.remove();
});

/** Runs `text` in a transaction as `role`, as PostgREST would for that role. */
async function asRole(role: string, text: string, values?: unknown[]) {
  return stack.db.tx(async (c) => {
    await c.query(`select set_config('role', $1, true)`, [role]);
    return (await c.query(text, values)).rows;
  });
}

describe('vault.create_secret, vault.update_secret and vault.decrypted_secrets', () => {
  it('stores a secret encoded and reads it back decoded through decrypted_secrets', async () => {
    const [{ id }] = (await stack.db.query(`select vault.create_secret('s3cr3t value', 'stripe_key', 'Stripe API key') as id`)).rows;
    const { rows } = await stack.db.query(
      'select name, description, secret, decrypted_secret, key_id from vault.decrypted_secrets where id = $1',
      [id],
    );
    expect(rows).toEqual([
      { name: 'stripe_key', description: 'Stripe API key', secret: expect.any(String), decrypted_secret: 's3cr3t value', key_id: null },
    ]);
    expect(rows[0].secret).not.toContain('s3cr3t');
  });

  it('updates the value, name and description it is given and keeps the rest', async () => {
    const [{ id }] = (await stack.db.query(`select vault.create_secret('one', 'rotating', 'kept') as id`)).rows;
    await stack.db.query(`select vault.update_secret($1, 'two')`, [id]);
    await stack.db.query(`select vault.update_secret($1, new_name := 'rotated')`, [id]);
    const { rows } = await stack.db.query(
      'select name, description, decrypted_secret, updated_at > created_at as touched from vault.decrypted_secrets where id = $1',
      [id],
    );
    expect(rows).toEqual([{ name: 'rotated', description: 'kept', decrypted_secret: 'two', touched: true }]);
  });

  it('keeps secret names unique', async () => {
    await stack.db.query(`select vault.create_secret('a', 'only_once')`);
    const error = await stack.db.query(`select vault.create_secret('b', 'only_once')`).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('23505');
  });

  it('keeps anon and authenticated out of Vault entirely', async () => {
    for (const role of ['anon', 'authenticated']) {
      for (const statement of ['select * from vault.decrypted_secrets', 'select * from vault.secrets', `select vault.create_secret('x')`]) {
        const error = await asRole(role, statement).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: '42501', message: 'permission denied for schema vault' });
      }
    }
  });

  it('lets service_role create and read secrets, as hosted Supabase grants it', async () => {
    const created = await asRole('service_role', `select vault.create_secret('from service', 'service_made') as id`);
    const read = await asRole('service_role', `select decrypted_secret from vault.decrypted_secrets where id = $1`, [created[0].id]);
    expect(read).toEqual([{ decrypted_secret: 'from service' }]);
  });
});

describe('the stack’s own secrets', () => {
  it('writes its API URL and secret key to project_url and worker_secret, again at every start', async () => {
    expect(STACK_SECRETS).toEqual({ projectUrl: 'project_url', workerSecret: 'worker_secret' });
    const persistent = await tempProject();
    const dataDir = `${persistent.dir}/.stack`;
    const secrets = async (s: Stack) =>
      (
        await s.db.query(
          `select name, decrypted_secret from vault.decrypted_secrets where name = any($1) order by name`,
          [Object.values(STACK_SECRETS)],
        )
      ).rows;
    try {
      const lines: string[] = [];
      const first = await startTestStack({ projectDir: persistent.dir, ephemeral: false, dataDir, scheduler: false, log: (l) => lines.push(l) });
      const firstUrl = first.apiUrl;
      expect(await secrets(first)).toEqual([
        { name: 'project_url', decrypted_secret: firstUrl },
        { name: 'worker_secret', decrypted_secret: first.keys.secret },
      ]);
      expect(lines).toContain(`Vault: set project_url and worker_secret for ${firstUrl}`);
      await first.db.query(
        `select vault.update_secret(id, 'stale') from vault.secrets where name = any($1)`,
        [Object.values(STACK_SECRETS)],
      );
      await first.stop();

      const second = await startTestStack({ projectDir: persistent.dir, ephemeral: false, dataDir, scheduler: false });
      try {
        expect(await secrets(second)).toEqual([
          { name: 'project_url', decrypted_secret: second.apiUrl },
          { name: 'worker_secret', decrypted_secret: second.keys.secret },
        ]);
      } finally {
        await second.stop();
      }
    } finally {
      await persistent.remove();
    }
  });
});
