import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, testClient, uniqueEmail } from '../helpers/stack.ts';

const BIN = join(process.cwd(), 'cli', 'edgebrain.mjs');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would (`edgebrain …`), with only the variables given (no EDGEBRAIN_* from outside). */
function cli(args: string[], env: Record<string, string> = {}, cwd = process.cwd()): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEBRAIN_') && k !== 'npm_lifecycle_event'));
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd, env: { ...base, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let stack: Stack;
let env: Record<string, string>;
const run = (...args: string[]) => cli(args, env);
const json = async (...args: string[]) => {
  const result = await run('--json', ...args);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout);
};

beforeAll(async () => {
  // No scheduler: documents stay where the test puts them.
  stack = await startTestStack({ scheduler: false });
  env = {
    EDGEBRAIN_SUPABASE_URL: stack.apiUrl,
    EDGEBRAIN_SECRET_KEY: stack.keys.secret,
    EDGEBRAIN_PUBLISHABLE_KEY: stack.keys.publishable,
  };
}, 120_000);
afterAll(async () => {
  await stack?.stop();
});

describe('edgebrain create-user, token, list-users', () => {
  it('creates a confirmed user with the name in user_metadata, who then gets a token with the password grant', async () => {
    const email = uniqueEmail('cli');
    const created = await run('create-user', '--name', 'Ada Lovelace', '--email', email, '--password', 'analytical-engine');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(new RegExp(`^Created user ${email} \\(Ada Lovelace\\), id [0-9a-f-]{36}\\.\\n$`));

    const { data } = await serviceClient(stack).auth.admin.listUsers();
    const user = data.users.find((u) => u.email === email)!;
    expect(user.user_metadata).toMatchObject({ name: 'Ada Lovelace' });
    expect(user.email_confirmed_at).toBeTruthy();

    const token = await run('token', '--email', email, '--password', 'analytical-engine');
    expect(token.code).toBe(0);
    const accessToken = token.stdout.trim();
    const { data: me } = await testClient(stack, { accessToken }).auth.getUser(accessToken);
    expect(me.user?.id).toBe(user.id);

    const listed = await json('list-users');
    expect(listed.find((u: { email: string }) => u.email === email)).toEqual({
      id: user.id,
      email,
      name: 'Ada Lovelace',
      plan: 'free',
      created_at: user.created_at,
      last_sign_in_at: expect.any(String),
    });
  });

  it('exits 4 for a duplicate e-mail, 2 for a weak password or a malformed e-mail, creating nothing', async () => {
    const email = uniqueEmail('dup');
    expect((await run('create-user', '--name', 'A', '--email', email, '--password', 'long-enough-1')).code).toBe(0);
    const duplicate = await run('create-user', '--name', 'B', '--email', email, '--password', 'long-enough-2');
    expect(duplicate).toEqual({ code: 4, stdout: '', stderr: `error: A user with the e-mail address ${email} already exists.\n` });

    const weak = await run('--json', 'create-user', '--name', 'C', '--email', uniqueEmail('weak'), '--password', 'short');
    expect(weak.code).toBe(2);
    expect(JSON.parse(weak.stderr)).toEqual({
      error: { code: 'weak_password', message: 'The password is too short: at least 8 characters.' },
    });
    const malformed = await run('create-user', '--name', 'D', '--email', 'not-an-email', '--password', 'long-enough-3');
    expect(malformed).toMatchObject({ code: 2, stderr: 'error: "not-an-email" is not an e-mail address.\n' });
    const missing = await run('create-user', '--email', uniqueEmail('x'), '--password', 'long-enough-4');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("required option '--name <name>' not specified");
  });

  it('refuses a wrong password with exit 5', async () => {
    const email = uniqueEmail('wrong');
    await run('create-user', '--name', 'W', '--email', email, '--password', 'right-password');
    expect(await run('token', '--email', email, '--password', 'wrong-password')).toEqual({
      code: 5,
      stdout: '',
      stderr: 'error: Invalid e-mail or password.\n',
    });
  });
});

describe('edgebrain set-plan and usage', () => {
  it('puts a user on a known plan, refuses an unknown one with exit 2, and shows usage against the limit', async () => {
    const email = uniqueEmail('plan');
    await run('create-user', '--name', 'P', '--email', email, '--password', 'plan-password');
    const unknown = await run('set-plan', email, 'platinum');
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: 'error: No plan "platinum". Plans: free, pro.\n' });

    const set = await json('set-plan', email, 'pro');
    expect(set).toMatchObject({ email, plan: 'pro', previous_plan: 'free' });
    const { data: sub } = await serviceClient(stack).from('subscriptions').select('plan_id, status').eq('user_id', set.user_id).single();
    expect(sub).toEqual({ plan_id: 'pro', status: 'active' });

    const today = new Date().toISOString().slice(0, 10);
    await stack.db.query('insert into public.user_daily_usage (user_id, date, daily_requests_count) values ($1, $2, 7)', [set.user_id, today]);
    expect(await json('usage', email)).toEqual({ email, user_id: set.user_id, date: today, plan: 'pro', used: 7, limit: 500 });

    expect(await json('set-plan', email, 'free')).toMatchObject({ plan: 'free', previous_plan: 'pro' });
    expect(await json('usage', email)).toMatchObject({ plan: 'free', used: 7, limit: 20 });
    expect(await run('usage', 'nobody@example.com')).toMatchObject({ code: 3, stderr: 'error: No user nobody@example.com.\n' });
  });
});

describe('edgebrain documents, jobs, reprocess, delete-user', () => {
  it('lists documents and jobs with errors, reprocesses, and deletes a user with their files', async () => {
    const email = uniqueEmail('docs');
    const created = await json('create-user', '--name', 'D', '--email', email, '--password', 'docs-password');
    const client = anonClient(stack);
    const { error: signInError } = await client.auth.signInWithPassword({ email, password: 'docs-password' });
    expect(signInError).toBeNull();
    for (const name of ['a.md', 'b.md']) {
      const { error } = await client.storage.from('documents').upload(`${created.id}/${name}`, `# ${name}\n\ntext`, { contentType: 'text/markdown' });
      expect(error).toBeNull();
    }
    const docs = await json('documents', '--user', email);
    expect(docs.map((d: { name: string; status: string; owner: string }) => [d.name, d.status, d.owner]).sort()).toEqual([
      ['a.md', 'queued', email],
      ['b.md', 'queued', email],
    ]);
    const a = docs.find((d: { name: string }) => d.name === 'a.md');

    // A queued document is not reprocessed unless forced.
    expect(await run('reprocess', a.id)).toEqual({
      code: 4,
      stdout: '',
      stderr: 'error: Document a.md is queued; only ready or failed documents are reprocessed (--force to do it anyway).\n',
    });

    await stack.db.query(
      `update public.documents set status = 'failed', error_code = 'no_text', error = 'The file has no text.' where id = $1`,
      [a.id],
    );
    const jobs = await json('jobs');
    expect(jobs.counts.failed).toBeGreaterThanOrEqual(1);
    expect(jobs.jobs.find((j: { id: string }) => j.id === a.id)).toMatchObject({ status: 'failed', error_code: 'no_text', error: 'The file has no text.' });
    const text = await run('jobs');
    expect(text.stdout).toContain('no_text: The file has no text.');

    const reprocessed = await run('--json', 'reprocess', a.id);
    expect(reprocessed.code).toBe(0);
    expect(JSON.parse(reprocessed.stdout)).toEqual({ id: a.id, name: 'a.md', status: 'queued', generation: a.generation + 1 });
    expect(await run('reprocess', 'not-a-uuid')).toMatchObject({ code: 2, stderr: 'error: document id must be a UUID, got "not-a-uuid".\n' });
    expect(await run('documents', '--status', 'done')).toMatchObject({ code: 2 });

    const unconfirmed = await run('delete-user', email);
    expect(unconfirmed).toMatchObject({
      code: 2,
      stderr: `error: This deletes ${email} (${created.id}), their 2 file(s) and all their rows. Run again with --yes to do it.\n`,
    });
    const deleted = await run('delete-user', email, '--yes');
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`Deleted ${email} (${created.id}) and 2 file(s).\n`);
    expect(deleted.stderr).toContain('Removed 2/2 files');
    const { rows } = await stack.db.query(`select count(*)::int as n from storage.objects where name like $1`, [`${created.id}/%`]);
    expect(rows[0].n).toBe(0);
    expect(await run('delete-user', email, '--yes')).toMatchObject({ code: 3 });
  });
});

describe('edgebrain profiles and failures', () => {
  it('exits 5 naming the URL when the project cannot be reached, and when it refuses the key', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    await new Promise((r) => server.close(r));
    const down = await cli(['list-users'], { ...env, EDGEBRAIN_SUPABASE_URL: `http://127.0.0.1:${port}` });
    expect(down).toEqual({
      code: 5,
      stdout: '',
      stderr: `error: Cannot reach http://127.0.0.1:${port} (ECONNREFUSED). Is the stack running (npm run dev), or is EDGEBRAIN_SUPABASE_URL right?\n`,
    });
    const refused = await cli(['list-users'], { ...env, EDGEBRAIN_PUBLISHABLE_KEY: 'sb_publishable_wrong' });
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('refused the key (401)');
  });

  it('reads .env and .env.<EDGEBRAIN_ENV> with the EDGEBRAIN_ prefix, and names what a profile lacks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgebrain-profile-'));
    try {
      await writeFile(join(dir, '.env'), `EDGEBRAIN_PUBLISHABLE_KEY=${stack.keys.publishable}\nEDGEBRAIN_SUPABASE_URL=http://127.0.0.1:1\n`);
      await writeFile(join(dir, '.env.stage'), `# stage project\nEDGEBRAIN_SUPABASE_URL=${stack.apiUrl}\nEDGEBRAIN_SECRET_KEY=${stack.keys.secret}\n`);
      const staged = await cli(['--json', 'list-users'], { EDGEBRAIN_ENV: 'stage' }, dir);
      expect(staged.code, staged.stderr).toBe(0);
      expect(Array.isArray(JSON.parse(staged.stdout))).toBe(true);

      const prod = await cli(['list-users'], { EDGEBRAIN_ENV: 'prod' }, dir);
      expect(prod).toEqual({
        code: 6,
        stdout: '',
        stderr:
          'error: Profile "prod" is incomplete (read .env and the environment):\n  EDGEBRAIN_SECRET_KEY: is missing\n',
      });
      const typo = await cli(['list-users'], { EDGEBRAIN_ENV: 'production' }, dir);
      expect(typo).toMatchObject({ code: 6, stderr: 'error: EDGEBRAIN_ENV must be one of dev, stage, prod, got "production".\n' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('prints help for every command', async () => {
    for (const command of ['create-user', 'list-users', 'delete-user', 'set-plan', 'token', 'usage', 'documents', 'jobs', 'reprocess']) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: edgebrain ${command}`);
    }
  });
});
