import type { Logger } from '../log.ts';
import { EMBEDDING_DIMENSIONS, type Embedder } from './types.ts';
import { toUnitVector } from './vector.ts';

/** Identity of the hash embedder; bump the version whenever the output of {@link hashEmbedding} changes. */
export const HASH_EMBEDDER_ID = 'hash-dev-v1';

// Relative weights of the three kinds of feature. Whole words dominate; word pairs reward phrase matches;
// character trigrams let inflections ("embedding" / "embeddings") and typos still overlap a little.
const WORD_WEIGHT = 1;
const PAIR_WEIGHT = 0.5;
const TRIGRAM_WEIGHT = 0.25;

// Seeds keep the kinds apart: the word "abc" and the trigram "abc" land in unrelated buckets.
const WORD_SEED = 0x811c9dc5;
const PAIR_SEED = 0x2545f491;
const TRIGRAM_SEED = 0x3c6ef372;
const EMPTY_SEED = 0x1b873593;

// Letters, combining marks and digits; everything else separates words.
const WORD = /[\p{L}\p{M}\p{N}]+/gu;
const WORD_START = 0x02;
const WORD_END = 0x03;

/** murmur3's 32-bit finaliser: spreads every input bit over the whole word. */
function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** FNV-1a over the UTF-16 code units of `word`, then {@link mix}. */
function hashWord(word: string, seed: number): number {
  let h = seed;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return mix(h);
}

/** Code unit `i` of `word` with virtual boundary markers at -1 and `word.length`. */
function unitAt(word: string, i: number): number {
  return i < 0 ? WORD_START : i >= word.length ? WORD_END : word.charCodeAt(i);
}

function count(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** Adds each feature with weight × (1 + ln tf) to its bucket, with the sign its hash picks. */
function accumulate(vector: Float64Array, counts: Map<number, number>, weight: number): void {
  for (const [key, tf] of counts) {
    const bucket = key % EMBEDDING_DIMENSIONS;
    const sign = mix(key ^ 0x5bd1e995) & 1 ? -1 : 1;
    vector[bucket] += sign * weight * (1 + Math.log(tf));
  }
}

/**
 * The deterministic lexical embedding of `text`: feature hashing of its words, word pairs and character
 * trigrams into {@link EMBEDDING_DIMENSIONS} signed buckets, with sub-linear term frequency, L2-normalised.
 *
 * Words are maximal runs of Unicode letters, marks and digits after NFKC normalisation and lower-casing, so
 * case, punctuation and compatibility forms (full-width letters, ligatures) do not matter. Similar vectors mean
 * shared words, never shared meaning.
 *
 * A text without any word (empty, blank, only punctuation) embeds as the signed unit vector of one reserved
 * feature: all such texts get that same vector, and it is nearly orthogonal to every text with words.
 */
export function hashEmbedding(text: string): number[] {
  const words = text.normalize('NFKC').toLowerCase().match(WORD) ?? [];
  if (words.length === 0) return noWordsVector();

  const wordCounts = new Map<number, number>();
  const pairCounts = new Map<number, number>();
  const trigramCounts = new Map<number, number>();
  let previous = 0;
  for (let w = 0; w < words.length; w++) {
    const word = words[w];
    const key = hashWord(word, WORD_SEED);
    count(wordCounts, key);
    if (w > 0) count(pairCounts, mix(Math.imul(previous, 0x9e3779b1) ^ key ^ PAIR_SEED));
    previous = key;
    for (let i = -1; i < word.length - 1; i++) {
      let h = TRIGRAM_SEED;
      h = Math.imul(h ^ unitAt(word, i), 0x01000193);
      h = Math.imul(h ^ unitAt(word, i + 1), 0x01000193);
      h = Math.imul(h ^ unitAt(word, i + 2), 0x01000193);
      count(trigramCounts, mix(h));
    }
  }
  const vector = new Float64Array(EMBEDDING_DIMENSIONS);
  accumulate(vector, wordCounts, WORD_WEIGHT);
  accumulate(vector, pairCounts, PAIR_WEIGHT);
  accumulate(vector, trigramCounts, TRIGRAM_WEIGHT);
  // Only an exact cancellation of every bucket could leave no direction; treat it like a text without words.
  return toUnitVector(vector) ?? noWordsVector();
}

/** The vector of texts without words: the reserved feature alone, so it is unit length and shares no word. */
function noWordsVector(): number[] {
  const vector = new Float64Array(EMBEDDING_DIMENSIONS);
  accumulate(vector, new Map([[mix(EMPTY_SEED), 1]]), 1);
  return Array.from(vector);
}

/**
 * The `hash` embedder: {@link hashEmbedding} behind the {@link Embedder} interface. No model, no key, no
 * network, so `npm run dev` works out of the box; but it only matches words, so it is for development only, and
 * it logs a warning saying so once, when created.
 */
export function createHashEmbedder(logger: Logger): Embedder {
  logger.log(
    'warn',
    `embeddings: ${HASH_EMBEDDER_ID} is a dev-only lexical embedder (shared words, not meaning); set EMBEDDINGS_PROVIDER for real semantic search`,
    { embedder: HASH_EMBEDDER_ID },
  );
  return {
    id: HASH_EMBEDDER_ID,
    dimensions: EMBEDDING_DIMENSIONS,
    async embed(texts, options = {}) {
      options.signal?.throwIfAborted();
      return texts.map(hashEmbedding);
    },
  };
}
