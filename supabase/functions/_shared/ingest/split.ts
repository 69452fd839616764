import { countTokens } from './tokens.ts';
import type { Section } from './types.ts';

/** How good a place to split the start of a piece is: higher is better. */
export const STRENGTH = { paragraph: 3, sentence: 2, line: 1, word: 0, cut: -1 } as const;

// Prose boundaries found inside a too-long break piece rank below every break.
const INSIDE_BREAK = -10;

/**
 * A run of a section's text that the chunker never splits further: a sentence (or a line, word, or hard-cut
 * slice of one that is too long), or the text between two breaks. Pieces tile the section text in order.
 */
export interface Piece {
  /** Offsets within the section text; `end` includes trailing whitespace. */
  start: number;
  end: number;
  /** Tokens of `text.slice(start, end)`. */
  tokens: number;
  /** How good a split point the start of this piece is ({@link STRENGTH}, or a break's strength). */
  strength: number;
  /** Whether an overlap may start inside this piece (prose may; CSV rows and JSON elements repeat whole or not at all). */
  partialOverlap: boolean;
  row?: number;
  path?: string;
}

/** Size caps for pieces. */
export interface PieceLimits {
  /** Most tokens in one piece. */
  tokens: number;
  /**
   * Most characters in one piece. Tokenising cost grows with the square of a run without spaces (a base64 blob, a
   * line of dashes), so text is never tokenised in slices longer than this.
   */
  chars: number;
}

// A boundary and the whitespace after it: a blank line, a line break, or sentence-ending punctuation (with any
// closing quotes or brackets) followed by whitespace, or CJK sentence-ending punctuation.
const BOUNDARY = /\n[^\S\n]*\n\s*|\n\s*|[.!?…]["'”’»)\]]*\s+|[。！？]["'”’」』)\]]*\s*/g;
const WORD = /\S+\s*|\s+/g;

/** The pieces of a section in order, honouring its breaks when it has them. */
export function* sectionPieces(section: Section, limits: PieceLimits): Generator<Piece> {
  const { text, breaks } = section;
  if (!breaks || breaks.length === 0) {
    yield* prosePieces(text, 0, text.length, limits, STRENGTH.paragraph);
    return;
  }
  if (breaks[0].at > 0) yield* prosePieces(text, 0, breaks[0].at, limits, STRENGTH.paragraph);
  for (let i = 0; i < breaks.length; i++) {
    const brk = breaks[i];
    const end = breaks[i + 1]?.at ?? text.length;
    if (end <= brk.at) continue;
    const tokens = end - brk.at <= limits.chars ? countTokens(text.slice(brk.at, end)) : Infinity;
    if (tokens <= limits.tokens) {
      yield { start: brk.at, end, tokens, strength: brk.strength, partialOverlap: false, row: brk.row, path: brk.path };
      continue;
    }
    let first = true;
    for (const piece of prosePieces(text, brk.at, end, limits, brk.strength)) {
      yield { ...piece, strength: first ? brk.strength : piece.strength + INSIDE_BREAK, row: brk.row, path: brk.path };
      first = false;
    }
  }
}

/**
 * Prose between `from` and `to`: one piece per sentence or line; a sentence over the limits is split into words,
 * and a word over them (or a long run of one character class) is cut into slices.
 */
export function* prosePieces(text: string, from: number, to: number, limits: PieceLimits, firstStrength: number): Generator<Piece> {
  // Searched within the range only, so a range without boundaries never scans the rest of a long text.
  const range = from === 0 && to === text.length ? text : text.slice(from, to);
  const boundary = new RegExp(BOUNDARY.source, 'g');
  let start = from;
  let strength = firstStrength;
  while (start < to) {
    const match = boundary.exec(range);
    const end = match ? from + match.index + match[0].length : to;
    yield* fitPieces(text, start, end, limits, strength);
    if (!match || end >= to) break;
    strength = boundaryStrength(match[0]);
    start = end;
  }
}

function boundaryStrength(separator: string): number {
  const newlines = separator.split('\n').length - 1;
  if (newlines >= 2) return STRENGTH.paragraph;
  if (newlines === 1 && separator[0] === '\n') return STRENGTH.line;
  return STRENGTH.sentence;
}

function* fitPieces(text: string, start: number, end: number, limits: PieceLimits, strength: number): Generator<Piece> {
  if (end - start <= limits.chars) {
    const tokens = countTokens(text.slice(start, end));
    if (tokens <= limits.tokens) {
      yield { start, end, tokens, strength, partialOverlap: true };
      return;
    }
  }
  const word = new RegExp(WORD.source, 'g');
  word.lastIndex = start;
  let first = true;
  for (let match = word.exec(text); match && match.index < end; match = word.exec(text)) {
    const wordEnd = Math.min(match.index + match[0].length, end);
    const wordStrength = first ? strength : STRENGTH.word;
    first = false;
    if (wordEnd - match.index <= limits.chars) {
      const tokens = countTokens(text.slice(match.index, wordEnd));
      if (tokens <= limits.tokens) {
        yield { start: match.index, end: wordEnd, tokens, strength: wordStrength, partialOverlap: true };
        continue;
      }
    }
    yield* cutPieces(text, match.index, wordEnd, limits, wordStrength);
    if (wordEnd >= end) break;
  }
}

/** The last resort: slices of at most the limits, never splitting a surrogate pair. */
function* cutPieces(text: string, start: number, end: number, limits: PieceLimits, strength: number): Generator<Piece> {
  let at = start;
  let size = limits.chars;
  while (at < end) {
    let length = Math.min(size, end - at);
    let tokens = countTokens(text.slice(at, at + avoidSurrogateSplit(text, at, length)));
    while (tokens > limits.tokens && length > 1) {
      length = Math.ceil(length / 2);
      tokens = countTokens(text.slice(at, at + avoidSurrogateSplit(text, at, length)));
    }
    length = avoidSurrogateSplit(text, at, length);
    yield { start: at, end: at + length, tokens, strength: at === start ? strength : STRENGTH.cut, partialOverlap: true };
    at += length;
    // Text that needed halving is dense; start the next slice near the size that fitted.
    size = Math.min(limits.chars, length * 2);
  }
}

function avoidSurrogateSplit(text: string, at: number, length: number): number {
  const last = text.charCodeAt(at + length - 1);
  return length > 1 && last >= 0xd800 && last <= 0xdbff ? length - 1 : length;
}
