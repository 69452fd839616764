import { Tokenizer } from '@huggingface/tokenizers';
import * as ort from 'onnxruntime-web';
import { EnvError } from '../env.ts';
import type { LocalEmbeddingsConfig } from './config.ts';
import { EMBEDDING_DIMENSIONS, type Embedder, EmbeddingError } from './types.ts';
import { checkedUnitVector } from './vector.ts';

/** What the `local` embedder takes besides its config; the module itself touches no file system API. */
export interface LocalEmbedderDeps {
  /** Reads a whole file: `Deno.readFile` in entry files, `node:fs/promises`' `readFile` in tests. */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Path of onnxruntime-web's `ort-wasm-simd-threaded.wasm` (in `node_modules/onnxruntime-web/dist/`), read
   * with `readFile` and handed to the runtime as bytes. When absent, onnxruntime-web loads the file next to its
   * own script itself, which also works from node_modules but reads it outside `readFile`. Only the first
   * local embedder of a process loads the runtime; later ones reuse it.
   */
  ortWasmPath?: string;
}

/** Where Hugging Face model repositories keep the ONNX export, tried in this order (full precision first). */
export const MODEL_FILES = ['onnx/model.onnx', 'model.onnx', 'onnx/model_quantized.onnx', 'model_quantized.onnx'] as const;

/** BERT-family position limit, used when neither tokenizer file states one. */
const DEFAULT_MAX_TOKENS = 512;
// tokenizer_config.json often says 1e30 for "no limit"; anything this large is not a real one.
const IMPLAUSIBLE_MAX_TOKENS = 1_000_000;

const REQUIRED_INPUTS = ['input_ids', 'attention_mask'];
const OPTIONAL_INPUTS = ['token_type_ids'];
const OUTPUT = 'last_hidden_state';

interface TokenizerFile {
  truncation?: { max_length?: unknown } | null;
  padding?: { pad_id?: unknown } | null;
}

interface TokenizerConfigFile {
  model_max_length?: unknown;
  pad_token?: unknown;
}

function unusable(message: string, variables = ['EMBEDDINGS_MODEL_DIR']): EnvError {
  return new EnvError(variables, `Invalid environment: ${message}`);
}

function reason(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The `local` embedder: a sentence-embedding model from a directory on disk (e.g. a download of
 * `Supabase/gte-small` or `Xenova/all-MiniLM-L6-v2`), run in process with onnxruntime-web's WebAssembly backend
 * (single-threaded, no native code) and tokenised with tokenizers.js from `tokenizer.json`. Nothing is fetched.
 *
 * Each text is tokenised with the model's special tokens and cut to the model's limit (the smaller of
 * `tokenizer.json`'s truncation and `tokenizer_config.json`'s `model_max_length`, else 512) keeping the closing
 * special token; texts are run in batches of `batchSize`, grouped by length to limit padding, with int64
 * `input_ids`, `attention_mask` and, if the model declares it, all-zero `token_type_ids`. The
 * `last_hidden_state` `[batch, tokens, 384]` is mean-pooled over the attention mask and L2-normalised, which is
 * what sentence-transformers does for these models.
 *
 * The directory is checked at creation, so a bad one fails at boot with an {@link EnvError} naming
 * `EMBEDDINGS_MODEL_DIR`: unreadable or invalid tokenizer, no loadable `.onnx` file ({@link MODEL_FILES}, or
 * `EMBEDDINGS_MODEL_FILE`), other inputs than the ones above, or an output of another width than 384 (known
 * from the model's declared or inferred shape; every run checks it again).
 *
 * The id is `local:<directory name>`, plus `/<file name>` when the file is not `model.onnx` (e.g.
 * `local:gte-small/model_quantized`), since a quantised export gives slightly different vectors.
 */
export async function createLocalEmbedder(config: LocalEmbeddingsConfig, deps: LocalEmbedderDeps): Promise<Embedder> {
  const dir = config.modelDir;
  const readJson = async <T>(name: string): Promise<T> => {
    const bytes = await deps.readFile(`${dir}/${name}`);
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  };

  let tokenizerFile: TokenizerFile;
  try {
    tokenizerFile = await readJson<TokenizerFile>('tokenizer.json');
  } catch (error) {
    throw unusable(`EMBEDDINGS_MODEL_DIR is unusable: cannot read ${dir}/tokenizer.json (${reason(error)})`);
  }
  let tokenizerConfig: TokenizerConfigFile = {};
  try {
    tokenizerConfig = await readJson<TokenizerConfigFile>('tokenizer_config.json');
  } catch {
    // Optional: tokenizers.js only needs it for a few settings, and tokenizer.json has the rest.
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(tokenizerFile, tokenizerConfig);
  } catch (error) {
    throw unusable(`EMBEDDINGS_MODEL_DIR is unusable: ${dir}/tokenizer.json is not a tokenizer tokenizers.js can load (${reason(error)})`);
  }

  const candidates = config.modelFile ? [config.modelFile] : MODEL_FILES;
  let modelFile: string | undefined;
  let modelBytes: Uint8Array | undefined;
  const misses: string[] = [];
  for (const candidate of candidates) {
    try {
      modelBytes = await deps.readFile(`${dir}/${candidate}`);
      modelFile = candidate;
      break;
    } catch (error) {
      misses.push(`${candidate}: ${reason(error)}`);
    }
  }
  if (!modelBytes || !modelFile) {
    throw unusable(
      `EMBEDDINGS_MODEL_DIR is unusable: no ONNX model in ${dir} (${misses.join('; ')})`,
      config.modelFile ? ['EMBEDDINGS_MODEL_DIR', 'EMBEDDINGS_MODEL_FILE'] : ['EMBEDDINGS_MODEL_DIR'],
    );
  }

  // No worker threads: edge workers get one CPU share, and threads need cross-origin isolation in browsers.
  ort.env.wasm.numThreads = 1;
  if (deps.ortWasmPath && !ort.env.wasm.wasmBinary) {
    try {
      ort.env.wasm.wasmBinary = await deps.readFile(deps.ortWasmPath);
    } catch (error) {
      throw new Error(`embeddings: cannot read onnxruntime-web's WebAssembly file ${deps.ortWasmPath} (${reason(error)})`, { cause: error });
    }
  }

  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelBytes, { executionProviders: ['wasm'] });
  } catch (error) {
    // Creating the first session also starts the runtime; its failure is not the model directory's fault.
    if (/no available backend/i.test(reason(error))) {
      throw new Error(`embeddings: onnxruntime-web could not start its WebAssembly runtime (${reason(error)})`, { cause: error });
    }
    throw unusable(`EMBEDDINGS_MODEL_DIR is unusable: ${dir}/${modelFile} is not a model onnxruntime-web can load (${reason(error)})`);
  }
  const missing = REQUIRED_INPUTS.filter((name) => !session.inputNames.includes(name));
  const unknown = session.inputNames.filter((name) => !REQUIRED_INPUTS.includes(name) && !OPTIONAL_INPUTS.includes(name));
  if (missing.length > 0 || unknown.length > 0) {
    throw unusable(
      `EMBEDDINGS_MODEL_DIR is unusable: ${dir}/${modelFile} takes inputs [${session.inputNames.join(', ')}]; ` +
        `a sentence-embedding encoder takes ${REQUIRED_INPUTS.join(', ')} and optionally ${OPTIONAL_INPUTS.join(', ')}`,
    );
  }
  const withTokenTypes = session.inputNames.includes('token_type_ids');
  const output = session.outputNames.includes(OUTPUT) ? OUTPUT : session.outputNames[0];
  const declared = session.outputMetadata.find((meta) => meta.name === output);
  const declaredWidth = declared?.isTensor ? declared.shape.at(-1) : undefined;
  if (typeof declaredWidth === 'number' && declaredWidth !== EMBEDDING_DIMENSIONS) {
    throw unusable(
      `EMBEDDINGS_MODEL_DIR is unusable: ${dir}/${modelFile} produces ${declaredWidth}-dimensional vectors, ` +
        `but the database stores ${EMBEDDING_DIMENSIONS} (use a 384-dimensional model such as gte-small or all-MiniLM-L6-v2)`,
    );
  }

  const maxTokens = tokenLimit(tokenizerFile, tokenizerConfig);
  const padId = padTokenId(tokenizer, tokenizerFile, tokenizerConfig);
  const encode = (text: string): number[] => {
    const ids = truncate(tokenizer, text, maxTokens);
    // A tokenizer without special tokens gives nothing for "", and a mean over no tokens has no direction.
    return ids.length > 0 ? ids : [padId];
  };

  const dirName = dir.split(/[\\/]/).filter(Boolean).at(-1) ?? dir;
  const stem = modelFile.split('/').at(-1)!.replace(/\.onnx$/, '');
  const source = `Local model ${dir}/${modelFile}`;

  const runBatch = async (rows: number[][]): Promise<number[][]> => {
    const batch = rows.length;
    const length = Math.max(...rows.map((ids) => ids.length));
    const inputIds = new BigInt64Array(batch * length).fill(BigInt(padId));
    const mask = new BigInt64Array(batch * length);
    rows.forEach((ids, row) => {
      ids.forEach((id, position) => {
        inputIds[row * length + position] = BigInt(id);
        mask[row * length + position] = 1n;
      });
    });
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', inputIds, [batch, length]),
      attention_mask: new ort.Tensor('int64', mask, [batch, length]),
    };
    if (withTokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch * length), [batch, length]);

    let hidden: ort.Tensor;
    try {
      hidden = (await session.run(feeds, [output]))[output];
    } catch (error) {
      throw new EmbeddingError('inference_failed', `${source} failed: ${reason(error)}`, { retryable: true, cause: error });
    }
    const [outBatch, outTokens, size] = hidden.dims;
    const data = hidden.data;
    if (hidden.dims.length !== 3 || outBatch !== batch || outTokens !== length || !(data instanceof Float32Array)) {
      throw new EmbeddingError(
        'invalid_response',
        `${source} returned ${hidden.type} [${hidden.dims.join(', ')}] for [${batch}, ${length}] tokens; expected float32 [batch, tokens, ${EMBEDDING_DIMENSIONS}] (check EMBEDDINGS_MODEL_DIR)`,
        { retryable: false },
      );
    }
    return rows.map((ids, row) => {
      // Padding sits after a row's own tokens, so the first ids.length positions are exactly its masked ones.
      const sum = new Float64Array(size);
      for (let position = 0; position < ids.length; position++) {
        const offset = (row * length + position) * size;
        for (let d = 0; d < size; d++) sum[d] += data[offset + d];
      }
      for (let d = 0; d < size; d++) sum[d] /= ids.length;
      return checkedUnitVector(
        sum,
        source,
        (width) => `${source} produces ${width}-dimensional vectors, but the database stores ${EMBEDDING_DIMENSIONS} (check EMBEDDINGS_MODEL_DIR)`,
      );
    });
  };

  return {
    id: stem === 'model' ? `local:${dirName}` : `local:${dirName}/${stem}`,
    dimensions: EMBEDDING_DIMENSIONS,
    async embed(texts, options = {}) {
      const { signal } = options;
      signal?.throwIfAborted();
      const encoded = texts.map(encode);
      const order = encoded.map((_, i) => i).sort((a, b) => encoded[b].length - encoded[a].length);
      const vectors = new Array<number[]>(texts.length);
      for (let start = 0; start < order.length; start += config.batchSize) {
        signal?.throwIfAborted();
        const batch = order.slice(start, start + config.batchSize);
        const pooled = await runBatch(batch.map((i) => encoded[i]));
        batch.forEach((textIndex, row) => (vectors[textIndex] = pooled[row]));
      }
      return vectors;
    },
  };
}

/** The model's token limit: the smaller of the two files' limits, ignoring "no limit" sentinels; else 512. */
function tokenLimit(tokenizerFile: TokenizerFile, tokenizerConfig: TokenizerConfigFile): number {
  const limits = [tokenizerFile.truncation?.max_length, tokenizerConfig.model_max_length].filter(
    (n): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n < IMPLAUSIBLE_MAX_TOKENS,
  );
  return limits.length > 0 ? Math.min(...limits) : DEFAULT_MAX_TOKENS;
}

function padTokenId(tokenizer: Tokenizer, tokenizerFile: TokenizerFile, tokenizerConfig: TokenizerConfigFile): number {
  const fromPadding = tokenizerFile.padding?.pad_id;
  if (typeof fromPadding === 'number') return fromPadding;
  const name = typeof tokenizerConfig.pad_token === 'string' ? tokenizerConfig.pad_token : '[PAD]';
  return tokenizer.token_to_id(name) ?? 0;
}

/**
 * Token ids of `text` with the special tokens, at most `maxTokens` long. tokenizers.js does not truncate, so a
 * long text is cut like the Rust library does: the text's own tokens are shortened and the special tokens
 * around them (e.g. `[CLS] … [SEP]`) are kept.
 */
function truncate(tokenizer: Tokenizer, text: string, maxTokens: number): number[] {
  const full = tokenizer.encode(text).ids;
  if (full.length <= maxTokens) return full;
  const plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const added = full.length - plain.length;
  if (added < 0 || added >= maxTokens) return full.slice(0, maxTokens);
  let prefix = 0;
  while (prefix < added && full[prefix] !== plain[0]) prefix++;
  return [...full.slice(0, prefix), ...plain.slice(0, maxTokens - added), ...full.slice(prefix + plain.length)];
}
