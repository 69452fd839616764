import { IngestError } from './errors.ts';
import { type Piece, sectionPieces } from './split.ts';
import { countTokens, truncateToTokens } from './tokens.ts';
import type { Section } from './types.ts';

/** How sections are cut into chunks. */
export interface ChunkOptions {
  /** Most tokens (cl100k_base) in a chunk's `embeddingText`, context included. */
  maxTokens?: number;
  /** Tokens of the previous chunk's tail repeated at the start of the next one in the same section (default 15% of `maxTokens`). */
  overlapTokens?: number;
  /** Index of the first chunk produced (a worker resuming a PDF at page N passes the number of chunks so far). */
  startIndex?: number;
  /**
   * Refuse (`too_much_text`) to produce a chunk with this index or higher: with `startIndex`, a bound on a whole
   * document even when a worker chunks it in slices. The default leaves room for any text within the default
   * `maxChars` (5 M characters made 7,700–8,500 chunks in our measurements).
   */
  maxChunks?: number;
  /** Put the heading path (or CSV header) before the text that is embedded. */
  contextPrefix?: boolean;
}

/**
 * Defaults for a gte-small-class model (384 dimensions) that truncates its input at 512 WordPiece tokens. We count
 * cl100k_base tokens; English prose takes about 1.2–1.4 WordPiece tokens per cl100k token and numbers, code and
 * non-English text up to about 2, so 256 keeps every chunk whole inside the model's window (nothing silently cut
 * off) and close to the passage length such models are trained on. An overlap of 15% (38 tokens, a sentence or
 * two) keeps a statement that straddles a cut findable from both chunks.
 */
export const DEFAULT_CHUNK_OPTIONS: Readonly<Required<ChunkOptions>> = {
  maxTokens: 256,
  overlapTokens: 38,
  startIndex: 0,
  maxChunks: 20_000,
  contextPrefix: true,
};

/** What a citation needs to point back at a chunk's source. */
export interface ChunkMetadata {
  /**
   * Offsets of `content` in its source text: the page's text for PDFs, the document's whole extracted text
   * otherwise (`ParsedDocument.text`), so `source.slice(start, end) === content`.
   */
  start: number;
  end: number;
  /** Heading path, outermost first; empty outside any heading. */
  headings: string[];
  /** PDF: 1-based page. */
  page?: number;
  /** CSV: the 1-based data rows (header not counted) the chunk covers. */
  rows?: { from: number; to: number };
  /** JSON: path of the element the chunk starts in and of the one it ends in. */
  jsonPath?: { from: string; to: string };
}

/** A piece of a document to embed and search. */
export interface Chunk {
  index: number;
  /** The original text, exactly as in the source text: what search results show. */
  content: string;
  /** Context prefixed for embedding (heading path like `Guide > Install`, or the CSV header line); `''` if none. */
  context: string;
  /** What to embed: `context`, a blank line, then `content` (or just `content`). */
  embeddingText: string;
  /** cl100k_base tokens of `embeddingText`; never more than `maxTokens`. */
  tokenCount: number;
  metadata: ChunkMetadata;
}

/** Overlap as a share of `maxTokens` when only `maxTokens` is given. */
const OVERLAP_SHARE = 0.15;
/** Characters per token allowed in a chunk, far above real text (about 4), so only pathological runs hit it. */
const MAX_CHARS_PER_TOKEN = 8;
/** A cut is put at the best boundary in a chunk once it holds at least this share of its token budget. */
const MIN_FILL = 0.5;

/**
 * Cuts sections into chunks, lazily and deterministically (the same sections and options always give the same
 * chunks). A chunk never spans sections; inside one it is cut at the strongest boundary available once half
 * full — a break (CSV row, JSON element), then a paragraph, sentence, line, word, and a hard cut as the last
 * resort — and starts with the tail of the previous chunk of the same section (whole sentences or rows when they
 * fit the overlap, else words for prose). No chunk is empty or exceeds `maxTokens`.
 */
export function chunkSections(sections: Iterable<Section>, options?: ChunkOptions): Generator<Chunk>;
export function chunkSections(sections: AsyncIterable<Section>, options?: ChunkOptions): AsyncGenerator<Chunk>;
export function chunkSections(
  sections: Iterable<Section> | AsyncIterable<Section>,
  options: ChunkOptions = {},
): Generator<Chunk> | AsyncGenerator<Chunk> {
  const settings = resolveOptions(options);
  const counter = { next: settings.startIndex };
  if (Symbol.asyncIterator in sections) return chunkAsync(sections, settings, counter);
  return chunkSync(sections, settings, counter);
}

function* chunkSync(sections: Iterable<Section>, settings: Required<ChunkOptions>, counter: { next: number }): Generator<Chunk> {
  for (const section of sections) yield* chunkSection(section, settings, counter);
}

async function* chunkAsync(sections: AsyncIterable<Section>, settings: Required<ChunkOptions>, counter: { next: number }): AsyncGenerator<Chunk> {
  for await (const section of sections) yield* chunkSection(section, settings, counter);
}

function resolveOptions(options: ChunkOptions): Required<ChunkOptions> {
  const settings = { ...DEFAULT_CHUNK_OPTIONS, ...stripUndefined(options) };
  if (options.overlapTokens === undefined) settings.overlapTokens = Math.round(settings.maxTokens * OVERLAP_SHARE);
  const { maxTokens, overlapTokens, startIndex, maxChunks } = settings;
  if (!Number.isInteger(maxTokens) || maxTokens < 32) throw new RangeError('maxTokens must be an integer of at least 32');
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens > maxTokens / 2) {
    throw new RangeError('overlapTokens must be an integer between 0 and maxTokens / 2');
  }
  if (!Number.isInteger(startIndex) || startIndex < 0) throw new RangeError('startIndex must be a non-negative integer');
  if (!Number.isInteger(maxChunks) || maxChunks < 1) throw new RangeError('maxChunks must be a positive integer');
  return settings;
}

function stripUndefined(options: ChunkOptions): ChunkOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/**
 * The text to embed for a chunk: its context (heading path or CSV header), a blank line, then its content — or
 * just the content without context. The worker rebuilds it from stored chunks with this, so both always agree.
 */
export function embeddingTextOf(context: string, content: string): string {
  return context === '' ? content : `${context}\n\n${content}`;
}

/** The context prefix of a section's chunks, at most a quarter of the token budget. */
function contextOf(section: Section, settings: Required<ChunkOptions>): string {
  if (!settings.contextPrefix) return '';
  const raw = (section.context ?? section.headings.join(' > ')).replace(/\s+/g, ' ').trim();
  const budget = Math.floor(settings.maxTokens / 4);
  // Cut by characters first so a hostile header is never tokenised whole.
  const capped = raw.slice(0, budget * MAX_CHARS_PER_TOKEN);
  if (capped === raw && countTokens(raw) <= budget) return raw;
  return `${truncateToTokens(capped, budget - 1).trimEnd()}…`;
}

function* chunkSection(section: Section, settings: Required<ChunkOptions>, counter: { next: number }): Generator<Chunk> {
  const { text } = section;
  const context = contextOf(section, settings);
  const budget = settings.maxTokens - countTokens(embeddingTextOf(context, ''));
  const maxChars = settings.maxTokens * MAX_CHARS_PER_TOKEN;
  const overlap = settings.overlapTokens;
  // A piece must fit next to a full overlap, so every chunk makes progress.
  const pieces = new PieceWindow(sectionPieces(section, { tokens: Math.max(1, budget - overlap), chars: Math.floor(maxChars * 0.75) }));

  let i = 0; // first piece not yet in any chunk
  let start = pieces.get(0)?.start ?? text.length; // where the next chunk starts (inside the overlap, if any)
  let startPiece = 0; // the piece `start` falls in
  let carried = 0; // tokens of the overlap carried into the next chunk
  while (pieces.get(i)) {
    // Take pieces while they fit, then cut at the best boundary among those that leave the chunk half full.
    let j = i;
    let used = carried;
    for (let piece = pieces.get(j); piece && used + piece.tokens <= budget && piece.end - start <= maxChars; piece = pieces.get(j)) {
      used += piece.tokens;
      j++;
    }
    if (j === i) j = i + 1; // cannot happen with the piece limits above; guarantees progress regardless
    let k = j;
    if (pieces.get(j)) {
      let fill = carried;
      let best = -Infinity;
      for (let cut = i + 1; cut <= j; cut++) {
        fill += pieces.get(cut - 1)!.tokens;
        const strength = pieces.get(cut)!.strength;
        if ((fill >= budget * MIN_FILL || cut === j) && strength >= best) {
          best = strength;
          k = cut;
        }
      }
    }

    let chunk = buildChunk(text, start, pieces.get(k - 1)!.end, context);
    while (chunk && chunk.tokenCount > settings.maxTokens) {
      // Tokens of joined pieces can exceed the sum of their counts; drop the last piece, or the overlap.
      if (k - 1 > i) k--;
      else if (start < pieces.get(i)!.start) {
        start = pieces.get(i)!.start;
        startPiece = i;
      } else throw new Error('chunker: a single piece exceeds the token budget');
      chunk = buildChunk(text, start, pieces.get(k - 1)!.end, context);
    }
    if (chunk) {
      if (counter.next >= settings.maxChunks) {
        throw new IngestError(
          'too_much_text',
          `This file has more text than we can process (it would make more than ${settings.maxChunks.toLocaleString('en-US')} passages). Split it into smaller files and upload them separately.`,
        );
      }
      yield {
        index: counter.next++,
        content: chunk.content,
        context,
        embeddingText: chunk.embeddingText,
        tokenCount: chunk.tokenCount,
        metadata: metadataOf(section, section.start + chunk.start, pieces.get(startPiece)!, pieces.get(k - 1)!, chunk.content.length),
      };
    }

    if (!pieces.get(k)) break;
    [start, startPiece, carried] = overlapStart(text, pieces, i, k, overlap);
    i = k;
    pieces.release(startPiece);
  }
}

function buildChunk(text: string, from: number, to: number, context: string): { start: number; content: string; embeddingText: string; tokenCount: number } | undefined {
  const raw = text.slice(from, to);
  const content = raw.trim();
  if (content === '') return undefined;
  const start = from + (raw.length - raw.trimStart().length);
  const embeddingText = embeddingTextOf(context, content);
  return { start, content, embeddingText, tokenCount: countTokens(embeddingText) };
}

function metadataOf(section: Section, start: number, first: Piece, last: Piece, length: number): ChunkMetadata {
  const metadata: ChunkMetadata = { start, end: start + length, headings: section.headings };
  if (section.page !== undefined) metadata.page = section.page;
  if (first.row !== undefined && last.row !== undefined) metadata.rows = { from: first.row, to: last.row };
  if (first.path !== undefined && last.path !== undefined) metadata.jsonPath = { from: first.path, to: last.path };
  return metadata;
}

/**
 * Where the chunk after pieces `i..k-1` starts: at the trailing whole pieces that fit the overlap (never all of
 * them, which would repeat the whole chunk), else at the trailing words of the last piece when it is prose, else
 * with no overlap. Returns the offset, the piece it falls in and the tokens carried.
 */
function overlapStart(text: string, pieces: PieceWindow, i: number, k: number, overlap: number): [number, number, number] {
  const next = pieces.get(k)!;
  if (overlap === 0) return [next.start, k, 0];
  let m = k;
  let carried = 0;
  while (m - 1 > i && carried + pieces.get(m - 1)!.tokens <= overlap) {
    carried += pieces.get(m - 1)!.tokens;
    m--;
  }
  if (m < k) return [pieces.get(m)!.start, m, carried];
  const last = pieces.get(k - 1)!;
  if (!last.partialOverlap) return [next.start, k, 0];
  const tail = wordTail(text, last.start, last.end, overlap);
  return tail ? [tail.start, k - 1, tail.tokens] : [next.start, k, 0];
}

/** The trailing words of `text.slice(from, to)` that fit `overlap` tokens, excluding its first word. */
function wordTail(text: string, from: number, to: number, overlap: number): { start: number; tokens: number } | undefined {
  const starts: number[] = [];
  const word = /\S+/g;
  const slice = text.slice(from, to);
  for (let match = word.exec(slice); match; match = word.exec(slice)) starts.push(from + match.index);
  let tokens = 0;
  let start: number | undefined;
  for (let w = starts.length - 1; w >= 1; w--) {
    const wordTokens = countTokens(text.slice(starts[w], w + 1 < starts.length ? starts[w + 1] : to));
    if (tokens + wordTokens > overlap) break;
    tokens += wordTokens;
    start = starts[w];
  }
  return start === undefined ? undefined : { start, tokens };
}

/** Pieces pulled from a generator on demand and dropped once no chunk can need them again. */
class PieceWindow {
  private buffer: Piece[] = [];
  private base = 0;
  private done = false;

  constructor(private readonly source: Iterator<Piece>) {}

  get(index: number): Piece | undefined {
    while (!this.done && index - this.base >= this.buffer.length) {
      const next = this.source.next();
      if (next.done) this.done = true;
      else this.buffer.push(next.value);
    }
    return this.buffer[index - this.base];
  }

  /** Forgets pieces before `index`. */
  release(index: number): void {
    if (index > this.base) {
      this.buffer.splice(0, index - this.base);
      this.base = index;
    }
  }
}
