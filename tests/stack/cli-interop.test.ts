import { execFile } from 'node:child_process';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../stack/db/migrate.ts';
import type { Stack } from '../../stack/index.ts';
import { tempProject, type TempProject } from '../helpers/project.ts';
import { startTestStack } from '../helpers/stack.ts';

const run = promisify(execFile);
const SUPABASE = join(process.cwd(), 'node_modules', '.bin', 'supabase');

/** Runs the real Supabase CLI and returns its combined output, whether it succeeded or not. */
async function supabaseOutput(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await supabase(cwd, ...args);
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return `${e.stdout ?? ''}${e.stderr ?? ''}`;
  }
}

/** Runs the real Supabase CLI in the temp project; returns stdout and stderr together. */
async function supabase(cwd: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(SUPABASE, [...args, '--yes'], {
    cwd,
    env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

// The stack runs on a free port here so the suite never collides with a `npm run dev` on 54322;
// the CLI is pointed at it with --remote=<url>, exactly as it would be at 54322.
describe('the real Supabase CLI against the lite stack database', () => {
  let stack: Stack;
  let project: TempProject;

  beforeAll(async () => {
    project = await tempProject({
      'supabase/migrations/20240101000000_create_notes.sql': `
        create table public.notes (id bigint generated always as identity primary key, body text not null);
        alter table public.notes enable row level security;
        create table public.unprotected (id int primary key);`,
    });
    await copyFile(join(process.cwd(), 'supabase', 'config.toml'), join(project.dir, 'supabase', 'config.toml'));
    stack = await startTestStack({ projectDir: project.dir });
  });
  afterAll(async () => {
    await stack?.stop();
    await project?.remove();
  });

  it('migration up reports nothing pending after the stack applied the migrations', async () => {
    const { stdout, stderr } = await supabase(project.dir, 'migration', 'up', `--remote=${stack.dbUrl}`);
    expect(`${stdout}${stderr}`).toContain('Remote database is up to date.');
  });

  it('migration up applies a new file, and the stack then sees it as applied', async () => {
    await project.write(
      'supabase/migrations/20240102000000_add_title.sql',
      'alter table public.notes add column title text;',
    );
    const { stdout, stderr } = await supabase(project.dir, 'migration', 'up', `--remote=${stack.dbUrl}`);
    expect(`${stdout}${stderr}`).toContain('20240102000000_add_title.sql');
    const { rows } = await stack.db.query(
      "select name from supabase_migrations.schema_migrations where version = '20240102000000'",
    );
    expect(rows).toEqual([{ name: 'add_title' }]);
    const again = await migrate(stack.db, { migrationsDir: join(project.dir, 'supabase', 'migrations') });
    expect(again).toEqual({ applied: [], seeded: false });
  });

  it('gen types prints the tables of the schema', async () => {
    const { stdout } = await supabase(project.dir, 'gen', 'types', '--lang=typescript', `--remote=${stack.dbUrl}`);
    expect(stdout).toContain('export type Database');
    expect(stdout).toMatch(/"notes": \{\s+Row: \{\s+"body": string,"id": number,"title": string \| null\s+\}/);
  });

  it('db advisors runs the security lints and finds a table without RLS', async () => {
    const { stdout } = await supabase(project.dir, 'db', 'advisors', '--type', 'all', `--remote=${stack.dbUrl}`);
    const found = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ name: string; level: string; detail: string }>;
    expect(found.filter((f) => f.name === 'rls_disabled_in_public')).toEqual([
      expect.objectContaining({ level: 'ERROR', detail: 'Table `public.unprotected` is public, but RLS has not been enabled.' }),
    ]);
  });
});

// `supabase status` loads and validates config.toml before it looks for Docker, and never starts anything.
describe('supabase/config.toml with the real Supabase CLI', () => {
  const CONFIG_ERROR = /config\.toml|no longer supported|failed to (load|parse) config/i;

  it('is accepted: the CLI gets past config parsing and stops only at the missing Docker stack', async () => {
    const output = await supabaseOutput(process.cwd(), 'status');
    expect(output).not.toMatch(CONFIG_ERROR);
    expect(output).toMatch(/docker|not running|container/i);
  });

  it('would be reported if it were invalid (the check above can fail)', async () => {
    const project = await tempProject({ 'supabase/config.toml': '[api]\nport = "x"\n' });
    try {
      expect(await supabaseOutput(project.dir, 'status')).toContain('Invalid api.port in supabase/config.toml');
    } finally {
      await project.remove();
    }
  });
});

// The product's own migrations must pass Supabase's security and performance lints.
describe('supabase db advisors on the product schema', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reports no ERROR and no security WARN', async () => {
    const output = await supabaseOutput(process.cwd(), 'db', 'advisors', '--type', 'all', `--remote=${stack.dbUrl}`);
    const start = output.indexOf('[');
    const findings = (start === -1 ? [] : JSON.parse(output.slice(start))) as Array<{
      name: string;
      level: string;
      categories: string[];
      detail: string;
    }>;
    if (start === -1) expect(output).toContain('No issues found');
    const blocking = findings.filter((f) => f.level === 'ERROR' || (f.level === 'WARN' && f.categories.includes('SECURITY')));
    expect(blocking.map((f) => `${f.level} ${f.name}: ${f.detail}`)).toEqual([]);
  });
});
