/**
 * The `local` embedder under real Deno 2, the way an edge function would use it: `npm:` imports through an import
 * map resolved from node_modules (`--node-modules-dir=manual`, as the runner and `npm run check` do), files read
 * with `Deno.readFile`, and only the permissions granted here.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denoBinary, denoDir, NODE_MODULES_FLAG, REPO_ROOT } from '../../../../stack/functions/deno.ts';
import { expectedEmbedding, type TinyModelDir, tokenId, writeTinyModelDir } from './tiny-model.ts';

const run = promisify(execFile);
const ORT_WASM = createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm');
const EMBEDDINGS = join(REPO_ROOT, 'supabase', 'functions', '_shared', 'embeddings');
/** The bare specifiers the embeddings modules import, mapped like a function's deno.json maps them. */
const PACKAGES = ['@ai-sdk/openai-compatible', '@huggingface/tokenizers', 'ai', 'onnxruntime-web', 'zod'];

let root: string;
let model: TinyModelDir;
let configPath: string;
let scriptPath: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgebrain-local-deno-'));
  model = await writeTinyModelDir(join(root, 'gte-tiny'));
  const { dependencies } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  configPath = join(root, 'deno.json');
  await writeFile(
    configPath,
    JSON.stringify({ imports: Object.fromEntries(PACKAGES.map((name) => [name, `npm:${name}@${dependencies[name]}`])) }, null, 2),
  );
  // An entry file in miniature: environment → config → embedder, with Deno's file reading injected.
  scriptPath = join(root, 'main.ts');
  const shared = (file: string) => pathToFileURL(join(EMBEDDINGS, file)).href;
  await writeFile(
    scriptPath,
    `import { createEmbedder, embeddingsConfig, EmbeddingsEnvSchema } from '${shared('index.ts')}';
import { parseEnv, readEnv } from '${shared('../env.ts')}';
import { createLogger } from '${shared('../log.ts')}';

const [ortWasmPath, ...texts] = Deno.args;
const config = embeddingsConfig(parseEnv(EmbeddingsEnvSchema, readEnv()));
const embedder = await createEmbedder(config, {
  logger: createLogger({}, () => {}),
  readFile: (path: string) => Deno.readFile(path),
  ortWasmPath,
});
console.log(JSON.stringify({ id: embedder.id, vectors: await embedder.embed(texts), deno: Deno.version.deno }));
`,
  );
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function denoEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, DENO_DIR: denoDir(), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', ...extra };
}

describe('local embedder under Deno', () => {
  it('loads and runs with read access to the model directory and the wasm file only', async () => {
    const { stdout } = await run(
      denoBinary(),
      [
        'run',
        '--no-prompt',
        '--no-lock',
        NODE_MODULES_FLAG,
        `--config=${configPath}`,
        // readEnv() reads the whole environment, as every entry file does; the embedder itself needs only this:
        '--allow-env',
        `--allow-read=${model.dir},${ORT_WASM}`,
        scriptPath,
        ORT_WASM,
        'Hello world',
        'the cats sat',
      ],
      { cwd: root, env: denoEnv({ EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_MODEL_DIR: model.dir }) },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { id: string; vectors: number[][]; deno: string };

    expect(result.deno).toMatch(/^2\./);
    expect(result.id).toBe('local:gte-tiny');
    const expected = [
      ['[CLS]', 'hello', 'world', '[SEP]'],
      ['[CLS]', 'the', 'cat', '##s', 'sat', '[SEP]'],
    ].map((tokens) => expectedEmbedding(model, tokens.map(tokenId)));
    result.vectors.forEach((vector, i) => {
      expect(vector).toHaveLength(384);
      expect(Math.max(...vector.map((value, d) => Math.abs(value - expected[i][d])))).toBeLessThan(1e-9);
    });
  });

  it('type-checks every embeddings module with deno check', async () => {
    const modules = ['index.ts', 'config.ts', 'types.ts', 'vector.ts', 'hash.ts', 'openai.ts', 'supabase-ai.ts', 'local.ts'];
    const check = run(
      denoBinary(),
      ['check', '--quiet', '--no-lock', NODE_MODULES_FLAG, `--config=${configPath}`, ...modules.map((file) => join(EMBEDDINGS, file))],
      { cwd: root, env: denoEnv() },
    );
    await expect(check).resolves.toMatchObject({ stderr: '' });
  });
});
