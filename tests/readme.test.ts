import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../stack/index.ts';
import { startTestStack } from './helpers/stack.ts';

/** The shell commands of the README's "First five minutes", in order, as a reader would paste them. */
function firstFiveMinutes(): string[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf('\n## First five minutes\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

let stack: Stack;
let cwd: string;

beforeAll(async () => {
  stack = await startTestStack();
  cwd = await mkdtemp(join(tmpdir(), 'edgebrain-readme-'));
}, 120_000);
afterAll(async () => {
  await stack?.stop();
  if (cwd) await rm(cwd, { recursive: true, force: true });
});

describe('README: First five minutes', () => {
  it('runs every command of the section against a fresh stack, with the answers it describes', async () => {
    const blocks = firstFiveMinutes();
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    // `npm run dev` is the stack this test started; everything else runs as written, on this stack's port.
    const commands = blocks
      .join('\n')
      .split('\n')
      .filter((line) => line.trim() !== 'npm run dev')
      .join('\n')
      .replaceAll('127.0.0.1:54321', new URL(stack.apiUrl).host);
    expect(commands).toContain('grant_type=password');

    const repo = process.cwd();
    // The reader pastes in the repo; here files (warranty.md) go to a temp dir and npm is pointed at the repo.
    const script = `set -euo pipefail\nnpm() { command npm --prefix ${JSON.stringify(repo)} "$@"; }\n${commands}\n`;
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGEBRAIN_')));
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        'bash',
        ['-c', script],
        {
          cwd,
          env: {
            ...env,
            EDGEBRAIN_SUPABASE_URL: stack.apiUrl,
            EDGEBRAIN_SECRET_KEY: stack.keys.secret,
            EDGEBRAIN_PUBLISHABLE_KEY: stack.keys.publishable,
          },
          maxBuffer: 16 * 1024 * 1024,
        },
        (error, out, err) => resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout: out, stderr: err }),
      );
    });
    expect(code, stderr).toBe(0);

    expect(stdout).toMatch(/Created user ada@example\.com \(Ada Lovelace\), id [0-9a-f-]{36}\./);
    expect(stdout).toContain('"email":"grace@example.com"');
    expect(stdout).toMatch(/"access_token":"eyJ[^"]+","token_type":"bearer","expires_in":3600/);
    expect(stdout).toContain('{"movie_id":1,"title":"The Shawshank Redemption","released":1994,"rating":9.2}');
    expect(stdout).toContain('"message":"File processing has started."');
    expect(stdout).toMatch(/"name":"warranty\.md"[^}]*"status":"ready"/);
    expect(stdout).toContain('"type":"source-document"');
    const answer = [...stdout.matchAll(/^data: (\{"type":"text-delta".*\})$/gm)].map((m) => JSON.parse(m[1]).delta).join('');
    expect(answer).toContain('two years');
    expect(stdout).toContain('data: [DONE]');
    expect(stdout).toMatch(/grace@example\.com\s+Grace Hopper\s+free/);
    expect(stdout).toContain('ada@example.com is now on plan pro (was free).');
    expect(stdout).toMatch(/ada@example\.com\s+pro\s+1\s+500/);
  }, 300_000);

  it('quotes the answer the token endpoint really gives without grant_type (the articles\' command)', async () => {
    const res = await fetch(`${stack.apiUrl}/functions/v1/token`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'ada@example.com', password: 'analytical-engine-1843' }),
    });
    const body = await res.text();
    expect(res.status).toBe(400);
    expect(body).toBe('{"error":"invalid_request","error_description":"Missing required parameter: grant_type."}');
    const readme = readFileSync('README.md', 'utf8').replace(/\s*\n\s*/g, ' ');
    expect(readme).toContain(`\`400 ${body}\``);
  });
});
