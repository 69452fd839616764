/**
 * Test fixtures for the `local` embedder: a tiny BERT-shaped ONNX model and a WordPiece tokenizer, generated in
 * memory because no real model can be downloaded here. The graph has gte-small's input and output names and
 * shapes — `input_ids`, `attention_mask` (and optionally `token_type_ids`), all int64 `[batch, seq]`, to
 * `last_hidden_state` float `[batch, seq, width]` — and computes `words[input_ids] + types[token_type_ids]`, so a
 * test can compute the expected mean-pooled vectors by hand.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Appends protobuf fields (wire format only: varints and length-delimited records) to a byte buffer. */
class ProtoWriter {
  private readonly parts: number[] = [];

  private varint(value: number): void {
    // Only non-negative values below 2^53 occur here, so plain arithmetic is exact.
    let rest = value;
    while (rest >= 0x80) {
      this.parts.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.parts.push(rest);
  }

  /** A varint field (int32, int64, enum). */
  int(field: number, value: number): this {
    this.varint(field * 8);
    this.varint(value);
    return this;
  }

  /** A length-delimited field holding raw bytes. */
  bytes(field: number, value: Uint8Array): this {
    this.varint(field * 8 + 2);
    this.varint(value.length);
    for (const byte of value) this.parts.push(byte);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** A nested message field. */
  message(field: number, build: (writer: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

// onnx.proto TensorProto.DataType
const FLOAT = 1;
const INT64 = 7;

/** One dimension: a fixed size or a symbolic name such as `batch`. */
type Dim = number | string;

function valueInfo(w: ProtoWriter, field: number, name: string, elemType: number, dims: Dim[]): void {
  // ValueInfoProto { name = 1; type = 2 } → TypeProto { tensor_type = 1 } → { elem_type = 1; shape = 2 }
  w.message(field, (info) =>
    info.string(1, name).message(2, (type) =>
      type.message(1, (tensor) =>
        tensor.int(1, elemType).message(2, (shape) => {
          for (const dim of dims) {
            shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
          }
        }),
      ),
    ),
  );
}

function floatInitializer(w: ProtoWriter, name: string, dims: number[], values: Float32Array): void {
  // TensorProto { dims = 1; data_type = 2; name = 8; raw_data = 9 } (raw_data is little-endian)
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((value, i) => view.setFloat32(i * 4, value, true));
  w.message(5, (tensor) => {
    for (const dim of dims) tensor.int(1, dim);
    tensor.int(2, FLOAT).string(8, name).bytes(9, raw);
  });
}

function node(w: ProtoWriter, opType: string, inputs: string[], outputs: string[], name: string): void {
  // NodeProto { input = 1; output = 2; name = 3; op_type = 4 }
  w.message(1, (n) => {
    for (const input of inputs) n.string(1, input);
    for (const output of outputs) n.string(2, output);
    n.string(3, name).string(4, opType);
  });
}

/** Shape of a generated model. */
export interface TinyModelSpec {
  /** Row `i` is token id `i`'s vector; `vocabSize × width` values. */
  words: Float32Array;
  /** Rows for token type 0 and 1 (`2 × width`); when absent the model has no `token_type_ids` input. */
  types?: Float32Array;
  width: number;
}

/** Serialises a ModelProto (IR version 8, opset 13) for {@link TinyModelSpec}. */
export function tinyOnnxModel(spec: TinyModelSpec): Uint8Array {
  const vocabSize = spec.words.length / spec.width;
  const tokens: Dim[] = ['batch', 'sequence'];
  return new ProtoWriter()
    .int(1, 8) // ir_version
    .string(2, 'edgebrain-tests') // producer_name
    .message(7, (graph) => {
      // GraphProto { node = 1; name = 2; initializer = 5; input = 11; output = 12 }
      if (spec.types) {
        node(graph, 'Gather', ['words', 'input_ids'], ['word_vectors'], 'word_lookup');
        node(graph, 'Gather', ['types', 'token_type_ids'], ['type_vectors'], 'type_lookup');
        node(graph, 'Add', ['word_vectors', 'type_vectors'], ['last_hidden_state'], 'sum');
      } else {
        node(graph, 'Gather', ['words', 'input_ids'], ['last_hidden_state'], 'word_lookup');
      }
      graph.string(2, 'tiny_bert');
      floatInitializer(graph, 'words', [vocabSize, spec.width], spec.words);
      if (spec.types) floatInitializer(graph, 'types', [2, spec.width], spec.types);
      valueInfo(graph, 11, 'input_ids', INT64, tokens);
      valueInfo(graph, 11, 'attention_mask', INT64, tokens);
      if (spec.types) valueInfo(graph, 11, 'token_type_ids', INT64, tokens);
      valueInfo(graph, 12, 'last_hidden_state', FLOAT, [...tokens, spec.width]);
    })
    .message(8, (opset) => opset.string(1, '').int(2, 13)) // opset_import { domain = 1; version = 2 }
    .finish();
}

/** The tiny WordPiece vocabulary; a token's id is its index. */
export const TINY_VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', 'world', 'the', 'cat', 'sat', 'on', 'mat', '##s', 'dog', 'a'];

/** Id of `token` in {@link TINY_VOCAB}. */
export function tokenId(token: string): number {
  const id = TINY_VOCAB.indexOf(token);
  if (id < 0) throw new Error(`not in the tiny vocabulary: ${token}`);
  return id;
}

/**
 * A BERT-uncased style `tokenizer.json` over {@link TINY_VOCAB} (BertNormalizer, BertPreTokenizer, WordPiece,
 * `[CLS] $A [SEP]`), as `transformers` writes it.
 */
export function tinyTokenizerJson(): Record<string, unknown> {
  const special = (content: string) => ({
    id: tokenId(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const cls = { SpecialToken: { id: '[CLS]', type_id: 0 } };
  const sep = (typeId: number) => ({ SpecialToken: { id: '[SEP]', type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0)],
      pair: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep(0), { Sequence: { id: 'B', type_id: 1 } }, sep(1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [tokenId('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [tokenId('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(TINY_VOCAB.map((token, id) => [token, id])),
    },
  };
}

/** Options of {@link writeTinyModelDir}. */
export interface TinyModelDirOptions {
  /** Output width; 384 like gte-small unless a test wants a wrong one. */
  width?: number;
  /** Whether the model takes `token_type_ids` (gte-small and MiniLM do). Default true. */
  tokenTypes?: boolean;
  /** `model_max_length` in tokenizer_config.json. Default 512. */
  maxLength?: number;
  /** Where the model goes inside the directory. Default `onnx/model.onnx`. */
  modelFile?: string;
}

/** A generated model directory and the tables its model computes with. */
export interface TinyModelDir extends TinyModelSpec {
  dir: string;
}

/**
 * Writes a Hugging Face style model directory (`tokenizer.json`, `tokenizer_config.json`, the `.onnx` file) to
 * `dir`. Table values are fixed functions of row and column, so every run computes the same vectors.
 */
export async function writeTinyModelDir(dir: string, options: TinyModelDirOptions = {}): Promise<TinyModelDir> {
  const width = options.width ?? 384;
  const words = Float32Array.from({ length: TINY_VOCAB.length * width }, (_, i) =>
    Math.sin(Math.floor(i / width) * 12.9898 + (i % width) * 78.233),
  );
  const types =
    options.tokenTypes === false
      ? undefined
      : Float32Array.from({ length: 2 * width }, (_, i) => 0.25 * Math.cos(Math.floor(i / width) + (i % width) * 0.5));
  const spec: TinyModelSpec = { words, types, width };
  const modelFile = options.modelFile ?? 'onnx/model.onnx';
  await mkdir(join(dir, modelFile, '..'), { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tinyTokenizerJson()));
  await writeFile(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ do_lower_case: true, model_max_length: options.maxLength ?? 512, pad_token: '[PAD]', unk_token: '[UNK]' }),
  );
  await writeFile(join(dir, modelFile), tinyOnnxModel(spec));
  return { ...spec, dir };
}

/**
 * The embedding the tiny model should give for token ids `ids` (all of type 0), computed independently of the
 * embedder: each token's output row is `words[id] + types[0]` in float32 (as the ONNX `Add` does), averaged over
 * the tokens and scaled to unit length.
 */
export function expectedEmbedding(model: TinyModelSpec, ids: number[]): number[] {
  // The mean is this sum over the token count; the factor disappears when scaling to unit length.
  const sum = new Array<number>(model.width).fill(0);
  for (const id of ids) {
    for (let d = 0; d < model.width; d++) {
      const word = model.words[id * model.width + d];
      sum[d] += model.types ? Math.fround(word + model.types[d]) : word;
    }
  }
  const norm = Math.hypot(...sum);
  return sum.map((value) => value / norm);
}
