import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary, denoDir, NODE_MODULES_FLAG, REPO_ROOT } from '../../../../stack/functions/deno.ts';
import { encryptedPdf, sentences, textPdf, utf8, wordDocument } from './fixtures.ts';
import { ingest, outcome } from './ingest.ts';

const run = promisify(execFile);

// The bare specifiers the ingest modules import, mapped like a function's deno.json maps them: to npm:
// specifiers with package.json's versions (resolved from node_modules by --node-modules-dir=manual).
const PACKAGES = ['unpdf', 'mammoth', 'htmlparser2', 'csv-parse', 'marked', 'gpt-tokenizer'];

let dir: string;
let importMap: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ingest-deno-'));
  const { dependencies } = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const imports: Record<string, string> = {};
  for (const name of PACKAGES) {
    imports[name] = `npm:${name}@${dependencies[name]}`;
    imports[`${name}/`] = `npm:/${name}@${dependencies[name]}/`;
  }
  importMap = join(dir, 'import_map.json');
  await writeFile(importMap, JSON.stringify({ imports }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ingestion under real Deno', () => {
  it('parses and chunks every format exactly as Node does, PDF and DOCX included', async () => {
    const files: Array<[string, Uint8Array, string]> = [
      ['doc.pdf', await textPdf([['Report title', sentences(4, 'revenue')], null, [sentences(5, 'costs')]]), 'application/pdf'],
      ['doc.docx', await wordDocument(), 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'],
      ['doc.md', utf8(`# Guide\n\n${sentences(30)}\n\n## Next\n\nMore.`), 'text/markdown'],
      ['doc.csv', utf8(`a,b\n${Array.from({ length: 80 }, (_, i) => `${i},"value ${i}"`).join('\n')}`), 'text/csv'],
      ['doc.html', utf8('<h1>T</h1><p>Hello &amp; bye.</p><script>x()</script>'), 'text/html'],
      ['doc.json', utf8(JSON.stringify({ rows: Array.from({ length: 50 }, (_, i) => ({ i, s: sentences(1) })) })), 'application/json'],
      ['locked.pdf', encryptedPdf(), 'application/pdf'],
    ];
    const args: string[] = [];
    const expected: unknown[] = [];
    for (const [name, bytes, type] of files) {
      await writeFile(join(dir, name), bytes);
      args.push(`${join(dir, name)}::${type}`);
      expected.push(await outcome(() => ingest(bytes, type)));
    }

    const { stdout } = await run(
      denoBinary(),
      ['run', '--quiet', '--no-lock', NODE_MODULES_FLAG, `--import-map=${importMap}`, `--allow-read=${dir}`, fileURLToPath(new URL('deno-ingest.ts', import.meta.url)), ...args],
      { env: { ...process.env, DENO_DIR: denoDir(), DENO_NO_UPDATE_CHECK: '1' }, maxBuffer: 64 * 1024 * 1024 },
    );
    const actual = JSON.parse(stdout) as unknown[];
    expect(actual).toHaveLength(files.length);
    files.forEach(([name], i) => expect([name, actual[i]]).toEqual([name, expected[i]]));
    // The comparison above means something only if the runs did real work.
    expect((expected[0] as { chunks: unknown[] }).chunks.length).toBe(2);
    expect((expected[1] as { chunks: unknown[] }).chunks.length).toBe(3);
    expect(expected[6]).toMatchObject({ error: { code: 'encrypted_file' } });
  });
});
