import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createEmbedder,
  type Embedder,
  embeddingsConfig,
  EmbeddingsEnvSchema,
} from '../../../../supabase/functions/_shared/embeddings/index.ts';
import { EnvError, parseEnv } from '../../../../supabase/functions/_shared/env.ts';
import { createLogger } from '../../../../supabase/functions/_shared/log.ts';
import { expectedEmbedding, type TinyModelDir, tinyTokenizerJson, tokenId, writeTinyModelDir } from './tiny-model.ts';

const ORT_WASM = createRequire(import.meta.url).resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm');
const logger = createLogger({}, () => {});

let root: string;
let gte: TinyModelDir;
let embedder: Embedder;
const reads: string[] = [];

/** Creates a `local` embedder from variables, as an entry file would, reading files with node:fs. */
async function localEmbedder(env: Record<string, string>): Promise<Embedder> {
  const config = embeddingsConfig(parseEnv(EmbeddingsEnvSchema, { EMBEDDINGS_PROVIDER: 'local', ...env }));
  return createEmbedder(config, { logger, readFile: (path) => readFile(path), ortWasmPath: ORT_WASM });
}

async function creationError(env: Record<string, string>): Promise<EnvError> {
  const error = await localEmbedder(env).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof EnvError) return error;
  throw new Error(`expected an EnvError, got ${String(error)}`);
}

function ids(...tokens: string[]): number[] {
  return tokens.map(tokenId);
}

function expectClose(actual: number[], expected: number[]): void {
  expect(actual).toHaveLength(expected.length);
  // float32 model arithmetic, summed in float64 on both sides: equal far beyond what a wrong token would allow.
  expect(Math.max(...actual.map((value, d) => Math.abs(value - expected[d])))).toBeLessThan(1e-9);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgebrain-local-embedder-'));
  gte = await writeTinyModelDir(join(root, 'gte-tiny'));
  // The first local embedder of the process also loads the WebAssembly runtime, so record its reads.
  const config = embeddingsConfig(
    parseEnv(EmbeddingsEnvSchema, { EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_MODEL_DIR: gte.dir, EMBEDDINGS_BATCH_SIZE: '2' }),
  );
  embedder = await createEmbedder(config, {
    logger,
    readFile: (path) => {
      reads.push(path);
      return readFile(path);
    },
    ortWasmPath: ORT_WASM,
  });
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('local embedder', () => {
  it('reads the tokenizer, the model and the WebAssembly runtime only through the injected readFile', () => {
    expect(reads).toEqual([
      `${gte.dir}/tokenizer.json`,
      `${gte.dir}/tokenizer_config.json`,
      `${gte.dir}/onnx/model.onnx`,
      ORT_WASM,
    ]);
    expect(embedder.id).toBe('local:gte-tiny');
    expect(embedder.dimensions).toBe(384);
  });

  it('mean-pools last_hidden_state over the tokens and normalises it', async () => {
    const [hello, cats] = await embedder.embed(['Hello, world!', 'The cats sat on the mat']);

    // Punctuation is not in the tiny vocabulary, so it becomes [UNK]; "cats" is "cat" + "##s".
    expectClose(hello, expectedEmbedding(gte, ids('[CLS]', 'hello', '[UNK]', 'world', '[UNK]', '[SEP]')));
    expectClose(cats, expectedEmbedding(gte, ids('[CLS]', 'the', 'cat', '##s', 'sat', 'on', 'the', 'mat', '[SEP]')));
    expect(Math.hypot(...hello)).toBeCloseTo(1, 12);
  });

  it('keeps input order and ignores padding when texts of different lengths share batches', async () => {
    // 4, 8, 3, 6 and 5 tokens: batches of two by length are 8+6, 5+4 and 3, so two of them are padded.
    const texts = ['a dog', 'the cat sat on the mat', 'hello', 'a cat sat on', 'world world world'];
    const vectors = await embedder.embed(texts);

    const expected = [
      ids('[CLS]', 'a', 'dog', '[SEP]'),
      ids('[CLS]', 'the', 'cat', 'sat', 'on', 'the', 'mat', '[SEP]'),
      ids('[CLS]', 'hello', '[SEP]'),
      ids('[CLS]', 'a', 'cat', 'sat', 'on', '[SEP]'),
      ids('[CLS]', 'world', 'world', 'world', '[SEP]'),
    ];
    vectors.forEach((vector, i) => expectClose(vector, expectedEmbedding(gte, expected[i])));
  });

  it('embeds the empty text as the mean of its special tokens', async () => {
    const [empty] = await embedder.embed(['']);
    expectClose(empty, expectedEmbedding(gte, ids('[CLS]', '[SEP]')));
  });

  it('cuts a text to the tokenizer limit and keeps the closing special token', async () => {
    const short = await writeTinyModelDir(join(root, 'short'), { maxLength: 6 });
    const cutting = await localEmbedder({ EMBEDDINGS_MODEL_DIR: short.dir });

    const [vector] = await cutting.embed(['the cat sat on the mat']);
    expectClose(vector, expectedEmbedding(short, ids('[CLS]', 'the', 'cat', 'sat', 'on', '[SEP]')));
  });

  it('sends no token_type_ids to a model that does not declare them', async () => {
    const minilm = await writeTinyModelDir(join(root, 'minilm-tiny'), { tokenTypes: false });
    const [vector] = await (await localEmbedder({ EMBEDDINGS_MODEL_DIR: minilm.dir })).embed(['hello world']);
    expectClose(vector, expectedEmbedding(minilm, ids('[CLS]', 'hello', 'world', '[SEP]')));
  });

  it('names a quantised export in its id, found by default or through EMBEDDINGS_MODEL_FILE', async () => {
    const quantized = await writeTinyModelDir(join(root, 'quantized'), { modelFile: 'onnx/model_quantized.onnx' });
    expect((await localEmbedder({ EMBEDDINGS_MODEL_DIR: quantized.dir })).id).toBe('local:quantized/model_quantized');
    const custom = await writeTinyModelDir(join(root, 'custom'), { modelFile: 'exports/encoder.onnx' });
    const chosen = await localEmbedder({ EMBEDDINGS_MODEL_DIR: custom.dir, EMBEDDINGS_MODEL_FILE: 'exports/encoder.onnx' });
    expect(chosen.id).toBe('local:custom/encoder');
  });

  it('fails at creation naming EMBEDDINGS_MODEL_DIR when the directory cannot be read', async () => {
    const error = await creationError({ EMBEDDINGS_MODEL_DIR: join(root, 'does-not-exist') });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL_DIR']);
    expect(error.message).toContain(`EMBEDDINGS_MODEL_DIR is unusable: cannot read ${join(root, 'does-not-exist')}/tokenizer.json`);
  });

  it('fails at creation listing the files it tried when there is no ONNX model', async () => {
    const dir = join(root, 'tokenizer-only');
    await mkdir(dir);
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));

    const error = await creationError({ EMBEDDINGS_MODEL_DIR: dir });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL_DIR']);
    for (const file of ['onnx/model.onnx', 'model.onnx', 'onnx/model_quantized.onnx', 'model_quantized.onnx']) {
      expect(error.message).toContain(`${file}: ENOENT`);
    }
    const named = await creationError({ EMBEDDINGS_MODEL_DIR: dir, EMBEDDINGS_MODEL_FILE: 'encoder.onnx' });
    expect(named.variables).toEqual(['EMBEDDINGS_MODEL_DIR', 'EMBEDDINGS_MODEL_FILE']);
  });

  it('fails at creation when the model file is not ONNX', async () => {
    const broken = await writeTinyModelDir(join(root, 'broken'));
    await writeFile(join(broken.dir, 'onnx/model.onnx'), 'not a protobuf at all');

    const error = await creationError({ EMBEDDINGS_MODEL_DIR: broken.dir });
    expect(error.message).toContain(`${broken.dir}/onnx/model.onnx is not a model onnxruntime-web can load`);
  });

  it('fails at creation when the model is not 384 wide', async () => {
    const wide = await writeTinyModelDir(join(root, 'wide'), { width: 8 });

    const error = await creationError({ EMBEDDINGS_MODEL_DIR: wide.dir });
    expect(error.variables).toEqual(['EMBEDDINGS_MODEL_DIR']);
    expect(error.message).toContain('produces 8-dimensional vectors, but the database stores 384');
  });

  it('needs a readFile to be injected', async () => {
    const config = embeddingsConfig(parseEnv(EmbeddingsEnvSchema, { EMBEDDINGS_PROVIDER: 'local', EMBEDDINGS_MODEL_DIR: gte.dir }));
    await expect(createEmbedder(config, { logger })).rejects.toThrow('EMBEDDINGS_PROVIDER=local needs deps.readFile');
  });
});
