/**
 * Lexical passage ranking for the offline extractive model: sources are cut into sentences, words reduced to
 * rough stems, and each sentence scored against the question with BM25. Deterministic and dependency-free; it
 * finds sentences that share words with the question, nothing more.
 */
import type { PromptSource } from './sources.ts';

/** A sentence (or a slice of a very long one) of a source, scored against the question. */
export interface RankedPassage {
  /** The source it comes from, for the citation marker. */
  sourceId: number;
  /** The sentence with its whitespace collapsed; `…` marks where a long sentence was cut. */
  text: string;
  /** BM25 score against the question; always above 0. */
  score: number;
}

/** Options of {@link rankPassages}. */
export interface RankOptions {
  /** Most passages returned; default 3. */
  limit?: number;
  /** Longest passage in words; longer sentences are cut into slices of this size. Default 40. */
  maxWords?: number;
}

// BM25's usual constants: term-frequency saturation and length normalisation.
const K1 = 1.2;
const B = 0.75;
// Passages scoring under this share of the best one are weak echoes of the question, not answers.
const RELATIVE_CUTOFF = 0.5;

const STOPWORDS = new Set(
  (
    'a about above after again all also am an and any are as at be been before being below between both but by ' +
    'can could did do does doing done down during each few for from further had has have having he her here hers ' +
    'him his how i if in into is it its itself just let me more most my no nor not now of off on once only or ' +
    'other our ours out over own please same she should show so some such tell than that the their theirs them ' +
    'then there these they this those through to too under until up us very was we were what when where which ' +
    'while who whom why will with would you your yours'
  ).split(' '),
);

/**
 * A rough English stem: plural, `-ing`, `-ed` and `-ly` endings and a final `e` removed, so "lasts", "lasted"
 * and "lasting" all become "last", and "files", "filed", "filing" all become "fil". Other languages pass
 * through almost unchanged, which only makes matching stricter.
 */
function stem(word: string): string {
  let w = word;
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(?:ss|sh|ch|x|z)es$/.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !/(?:ss|us|is)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = w.slice(0, -3);
  else if (w.length > 4 && w.endsWith('ed')) w = w.slice(0, -2);
  else if (w.length > 4 && w.endsWith('ly')) w = w.slice(0, -2);
  // English doubles a final consonant before -ing/-ed ("stopped", "running"); undo it so both meet "stop", "run".
  if (w.length > 3 && /([b-df-hj-np-tv-z])\1$/.test(w) && !/(?:ll|ss|zz)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

/**
 * The search terms of `text`: lower-cased words without accents, stop words and lone letters, stemmed. Numbers
 * and codes ("2024", "x200") are kept whole.
 */
export function terms(text: string): string[] {
  const words = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((word) => !STOPWORDS.has(word) && (word.length > 1 || /\p{N}/u.test(word))).map(stem);
}

// A line that starts a new item rather than continuing the previous line: list bullets, numbered items,
// markdown headings and table rows.
const ITEM_START = /^(?:[-*•]\s|\d{1,3}[.)]\s|#{1,6}\s|\|)/;
// The marker itself, which is layout rather than content (a table row keeps its pipes).
const ITEM_MARKER = /^(?:[-*•]|\d{1,3}[.)]|#{1,6})\s+/;
// Shorter fragments (headings, labels, "Yes.") say too little to be quoted as an answer.
const MIN_PASSAGE_WORDS = 3;
// Sentence ends: . ! ? (optionally followed by closing quotes or brackets), then space, then something that
// starts a sentence. "e.g. the" does not split; "Dr. Smith" does, which is harmless here.
const SENTENCE_END = /(?<=[.!?…]["'”’)\]]*)\s+(?=[\p{Lu}\p{N}"'“‘(\[])/u;

/**
 * The sentences of a source text: paragraphs (blank-line separated) are cut at list items and headings, lines
 * hard-wrapped by PDF extraction are joined again, and the result is split at sentence ends. Bullet, number and
 * heading markers are removed and whitespace is collapsed; pieces without a letter or digit are dropped.
 */
export function splitSentences(text: string): string[] {
  const sentences: string[] = [];
  for (const paragraph of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    const items: string[] = [];
    for (const line of paragraph.split('\n')) {
      const trimmed = line.trim();
      if (trimmed === '') continue;
      if (items.length === 0 || ITEM_START.test(trimmed)) items.push(trimmed.replace(ITEM_MARKER, ''));
      else items[items.length - 1] += ` ${trimmed}`;
    }
    for (const item of items) {
      for (const sentence of item.split(SENTENCE_END)) {
        const collapsed = sentence.replace(/\s+/g, ' ').trim();
        if (/[\p{L}\p{N}]/u.test(collapsed)) sentences.push(collapsed);
      }
    }
  }
  return sentences;
}

/** `sentence` in slices of at most `maxWords` words, each cut end marked with `…`. */
function slices(sentence: string, maxWords: number): string[] {
  const words = sentence.split(' ');
  if (words.length <= maxWords) return [sentence];
  const result: string[] = [];
  for (let start = 0; start < words.length; start += maxWords) {
    const end = Math.min(start + maxWords, words.length);
    result.push(`${start > 0 ? '…' : ''}${words.slice(start, end).join(' ')}${end < words.length ? '…' : ''}`);
  }
  return result;
}

/**
 * The passages of `sources` that best answer `question`, best first: BM25 over all sentences of all sources
 * (each sentence of at least three words a document), at most `limit`, only those sharing a term with the
 * question and scoring at least half the best. A sentence repeated in several sources (overlapping chunks) counts once, for the first source.
 * Ties go to the earlier source, then the earlier sentence, so the order is fully deterministic. Returns `[]`
 * when nothing matches, including for a question of stop words only.
 */
export function rankPassages(question: string, sources: readonly PromptSource[], options: RankOptions = {}): RankedPassage[] {
  const limit = options.limit ?? 3;
  const maxWords = options.maxWords ?? 40;
  const queryTerms = [...new Set(terms(question))];
  if (queryTerms.length === 0 || limit < 1) return [];

  const seen = new Set<string>();
  const units: Array<{ sourceId: number; text: string; counts: Map<string, number>; length: number }> = [];
  for (const source of sources) {
    for (const sentence of splitSentences(source.text)) {
      if (sentence.split(' ').length < MIN_PASSAGE_WORDS) continue;
      for (const text of slices(sentence, maxWords)) {
        const key = text.toLowerCase();
        if (seen.has(key)) continue;
        seen.add(key);
        const unitTerms = terms(text);
        const counts = new Map<string, number>();
        for (const term of unitTerms) counts.set(term, (counts.get(term) ?? 0) + 1);
        units.push({ sourceId: source.id, text, counts, length: unitTerms.length });
      }
    }
  }
  if (units.length === 0) return [];

  const averageLength = units.reduce((sum, unit) => sum + unit.length, 0) / units.length || 1;
  const idf = new Map(
    queryTerms.map((term) => {
      const containing = units.filter((unit) => unit.counts.has(term)).length;
      return [term, Math.log(1 + (units.length - containing + 0.5) / (containing + 0.5))];
    }),
  );
  const scored = units
    .map((unit, index) => {
      let score = 0;
      for (const term of queryTerms) {
        const tf = unit.counts.get(term) ?? 0;
        if (tf > 0) score += idf.get(term)! * ((tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * unit.length) / averageLength)));
      }
      return { index, sourceId: unit.sourceId, text: unit.text, score };
    })
    .filter((passage) => passage.score > 0)
    // units are in source order then sentence order, so the index breaks ties as documented
    .sort((a, b) => b.score - a.score || a.index - b.index);
  if (scored.length === 0) return [];

  const floor = scored[0].score * RELATIVE_CUTOFF;
  return scored
    .filter((passage) => passage.score >= floor)
    .slice(0, limit)
    .map(({ sourceId, text, score }) => ({ sourceId, text, score }));
}
