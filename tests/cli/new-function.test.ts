import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = process.cwd();
const NAME = 'saved-notes';

function run(command: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; output: string }>((resolve) => {
    execFile(command, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

/**
 * A throwaway copy of the project (its product, the stack, the test helpers and the suites a new function touches;
 * node_modules linked), so the scaffolder never writes into the repo.
 */
let project: string;
beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'edgebrain-scaffold-'));
  for (const path of ['supabase', 'stack', 'tests/helpers', 'tests/functions/fake-deps.ts', 'tests/database', 'tests/functions/_shared/database-types.test.ts', 'package.json', 'tsconfig.json', 'vitest.config.ts']) {
    await cp(join(REPO, path), join(project, path), { recursive: true, filter: (src) => !src.endsWith('/.env') });
  }
  await symlink(join(REPO, 'node_modules'), join(project, 'node_modules'));
});
afterAll(async () => {
  if (project) await rm(project, { recursive: true, force: true });
});

describe('npm run new:function -- <name>', () => {
  it('scaffolds a function whose generated tests, pgTAP file, types and type checks pass as generated', async () => {
    const before = await readdir(join(REPO, 'supabase', 'functions'));
    const scaffolded = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'new-function.ts'), NAME, '--project', project], REPO);
    expect(scaffolded.code, scaffolded.output).toBe(0);
    expect(await readdir(join(REPO, 'supabase', 'functions'))).toEqual(before); // the repo is untouched

    expect(existsSync(join(project, 'supabase', 'functions', NAME, 'index.ts'))).toBe(true);
    const migrations = await readdir(join(project, 'supabase', 'migrations'));
    expect(migrations.at(-1)).toMatch(/^\d{14}_create_saved_notes\.sql$/);
    expect(await readFile(join(project, 'supabase', 'config.toml'), 'utf8')).toContain(`[functions.${NAME}]\nverify_jwt = false\n`);
    expect(await readFile(join(project, 'supabase', 'functions', '_shared', 'database.types.ts'), 'utf8')).toMatch(/\bsaved_notes"?: \{/);

    // The suites it touches, on the copy: its in-process and end-to-end tests, every pgTAP file (its own and the
    // schema-hygiene list it extended), and the generated types against the migrations.
    const tests = await run(
      join(project, 'node_modules', '.bin', 'vitest'),
      ['run', `tests/functions/${NAME}`, `tests/functions/${NAME}.test.ts`, 'tests/database', 'tests/functions/_shared/database-types.test.ts'],
      project,
    );
    expect(tests.code, tests.output).toBe(0);
    expect(tests.output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Test Files\s+4 passed \(4\)/); // app, end to end, pgTAP, types

    await writeFile(
      join(project, 'tsconfig.generated.json'),
      JSON.stringify({ extends: './tsconfig.json', include: [`supabase/functions/${NAME}`, `tests/functions/${NAME}`, `tests/functions/${NAME}.test.ts`] }),
    );
    const tsc = await run(join(project, 'node_modules', '.bin', 'tsc'), ['--noEmit', '-p', 'tsconfig.generated.json'], project);
    expect(tsc.code, tsc.output).toBe(0);
    const deno = await run(
      join(project, 'node_modules', '.bin', 'deno'),
      ['check', '--quiet', '--no-lock', '--node-modules-dir=manual', `--config=supabase/functions/${NAME}/deno.json`, `supabase/functions/${NAME}/index.ts`],
      project,
      { DENO_DIR: join(REPO, 'node_modules', '.cache', 'deno') },
    );
    expect(deno.code, deno.output).toBe(0);
  }, 600_000);

  it('refuses a name that is taken or malformed, changing nothing', async () => {
    const config = await readFile(join(project, 'supabase', 'config.toml'), 'utf8');
    const taken = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'new-function.ts'), 'movies', '--project', project], REPO);
    expect(taken).toEqual({ code: 2, output: 'supabase/functions/movies already exists.\n' });
    const malformed = await run(process.execPath, ['--import', 'tsx', join(REPO, 'scripts', 'new-function.ts'), 'Saved_Notes', '--project', project], REPO);
    expect(malformed.code).toBe(2);
    expect(malformed.output).toContain('is not a function name');
    expect(await readFile(join(project, 'supabase', 'config.toml'), 'utf8')).toBe(config);
  });
});
