import { describe, expect, it } from 'vitest';
import { type Chunk, type ChunkOptions, chunkSections, DEFAULT_CHUNK_OPTIONS } from '../../../../supabase/functions/_shared/ingest/chunk.ts';
import { IngestError } from '../../../../supabase/functions/_shared/ingest/errors.ts';
import { countTokens } from '../../../../supabase/functions/_shared/ingest/tokens.ts';
import type { Section } from '../../../../supabase/functions/_shared/ingest/types.ts';
import { sentences } from './fixtures.ts';
import { collect } from './ingest.ts';

function section(text: string, fields: Partial<Section> = {}): Section {
  return { text, start: 0, headings: [], ...fields };
}

function chunk(sections: Section[], options: ChunkOptions = {}): Chunk[] {
  return [...chunkSections(sections, options)];
}

/** Paragraphs of `perParagraph` sentences each. */
function paragraphs(count: number, perParagraph: number): string {
  return Array.from({ length: count }, (_, i) => sentences(perParagraph, `topic ${i}`)).join('\n\n');
}

const AWKWARD_TEXTS: Record<string, string> = {
  prose: paragraphs(8, 6),
  'one sentence without punctuation': Array.from({ length: 1500 }, (_, i) => `word${i % 97}`).join(' '),
  'a base64 blob': `Image: ${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkrLw'.repeat(400)} end.`,
  'CJK without spaces': '在这个系统中我们讨论了很多不同的问题和解决方案'.repeat(200),
  'a line of dashes': `Title\n${'-'.repeat(12_000)}\nAfter.`,
  'a long run of spaces': `left${' '.repeat(20_000)}right and more words here.`,
  emoji: '😀🎉👍🏽'.repeat(1500),
};

describe('chunkSections bounds', () => {
  for (const [name, text] of Object.entries(AWKWARD_TEXTS)) {
    it(`never exceeds maxTokens, context included, and never yields an empty chunk: ${name}`, () => {
      for (const [maxTokens, overlapTokens] of [
        [32, 0],
        [64, 16],
        [256, 40],
      ]) {
        const sections = [section(text, { headings: ['A heading', 'Sub'] })];
        const chunks = chunk(sections, { maxTokens, overlapTokens });
        expect(chunks.length).toBeGreaterThan(0);
        for (const c of chunks) {
          expect(c.tokenCount).toBeLessThanOrEqual(maxTokens);
          expect(c.tokenCount).toBe(countTokens(c.embeddingText));
          expect(c.content).not.toBe('');
          expect(c.content).toBe(c.content.trim());
          expect(text.slice(c.metadata.start, c.metadata.end)).toBe(c.content);
        }
      }
    });
  }

  it('covers every non-blank character of every section', () => {
    for (const text of Object.values(AWKWARD_TEXTS)) {
      for (const overlapTokens of [0, 12]) {
        const covered = new Uint8Array(text.length);
        for (const c of chunk([section(text)], { maxTokens: 48, overlapTokens })) covered.fill(1, c.metadata.start, c.metadata.end);
        const missed = [...text].findIndex((ch, i) => /\S/.test(ch) && covered[i] === 0);
        expect(missed).toBe(-1);
      }
    }
  });

  it('fills every chunk but the last of a section to at least half the budget', () => {
    const chunks = chunk([section(paragraphs(12, 5))], { maxTokens: 128, overlapTokens: 0 });
    for (const c of chunks.slice(0, -1)) expect(c.tokenCount).toBeGreaterThanOrEqual(64);
  });

  it('defaults to 256-token chunks with 15% (38 tokens) of overlap, and scales the overlap with maxTokens', () => {
    expect(DEFAULT_CHUNK_OPTIONS).toMatchObject({ maxTokens: 256, overlapTokens: 38, startIndex: 0 });
    const small = chunk([section(paragraphs(4, 6))], { maxTokens: 40 });
    expect(small.length).toBeGreaterThan(2);
    for (let i = 1; i < small.length; i++) {
      expect(countTokens(paragraphs(4, 6).slice(small[i].metadata.start, small[i - 1].metadata.end))).toBeLessThanOrEqual(6);
    }
    const chunks = chunk([section(paragraphs(30, 6))]);
    expect(Math.max(...chunks.map((c) => c.tokenCount))).toBeLessThanOrEqual(256);
    expect(Math.max(...chunks.map((c) => c.tokenCount))).toBeGreaterThan(200);
  });
});

describe('chunkSections boundaries', () => {
  it('cuts at the end of a paragraph rather than inside one', () => {
    const text = paragraphs(10, 3);
    const chunks = chunk([section(text)], { maxTokens: 100, overlapTokens: 0 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.metadata.end === text.length || text.startsWith('\n\n', c.metadata.end)).toBe(true);
      expect(c.metadata.start === 0 || text.slice(c.metadata.start - 2, c.metadata.start) === '\n\n').toBe(true);
    }
  });

  it('cuts a paragraph longer than the budget at sentence ends', () => {
    const text = sentences(40);
    for (const c of chunk([section(text)], { maxTokens: 64, overlapTokens: 0 })) {
      expect(c.content).toMatch(/^Sentence \d+ .* twice\.$/s);
    }
  });

  it('cuts a sentence longer than the budget between words, and a word longer than it anywhere', () => {
    const words = AWKWARD_TEXTS['one sentence without punctuation'];
    const wordChunks = chunk([section(words)], { maxTokens: 40, overlapTokens: 0 });
    for (const c of wordChunks) expect(c.metadata.end === words.length || words[c.metadata.end] === ' ').toBe(true);

    const blob = 'x'.repeat(5000);
    const blobChunks = chunk([section(blob)], { maxTokens: 40, overlapTokens: 0 });
    expect(blobChunks.length).toBeGreaterThan(1);
    expect(blobChunks.map((c) => c.content).join('')).toBe(blob);
  });
});

describe('chunkSections overlap', () => {
  it('starts each chunk with the tail of the previous one in the same section', () => {
    const text = paragraphs(6, 6);
    const chunks = chunk([section(text)], { maxTokens: 80, overlapTokens: 20 });
    expect(chunks.length).toBeGreaterThan(4);
    for (let i = 1; i < chunks.length; i++) {
      const [previous, current] = [chunks[i - 1].metadata, chunks[i].metadata];
      expect(current.start).toBeLessThan(previous.end);
      expect(current.start).toBeGreaterThan(previous.start);
      const repeated = text.slice(current.start, previous.end);
      expect(chunks[i - 1].content.endsWith(repeated)).toBe(true);
      expect(chunks[i].content.startsWith(repeated)).toBe(true);
      expect(countTokens(repeated)).toBeLessThanOrEqual(20);
    }
  });

  it('never carries overlap from one section into the next', () => {
    const first = section(sentences(30, 'first'), { start: 0, headings: ['One'] });
    const second = section(sentences(30, 'second'), { start: first.text.length + 2, headings: ['Two'] });
    const chunks = chunk([first, second], { maxTokens: 64, overlapTokens: 16 });
    const firstOfSecond = chunks.find((c) => c.metadata.headings[0] === 'Two')!;
    expect(firstOfSecond.metadata.start).toBe(second.start);
    expect(firstOfSecond.content.startsWith('Sentence 0 about the second')).toBe(true);
  });

  it('repeats nothing when overlapTokens is 0', () => {
    const chunks = chunk([section(paragraphs(6, 6))], { maxTokens: 64, overlapTokens: 0 });
    for (let i = 1; i < chunks.length; i++) expect(chunks[i].metadata.start).toBeGreaterThanOrEqual(chunks[i - 1].metadata.end);
  });
});

describe('chunkSections results', () => {
  it('gives the same chunks for the same sections and options, from sync and async sections alike', async () => {
    const sections = [section(paragraphs(5, 5), { headings: ['H'] }), section(AWKWARD_TEXTS.emoji, { start: 9999 })];
    const once = chunk(sections, { maxTokens: 64, overlapTokens: 10 });
    expect(chunk(sections, { maxTokens: 64, overlapTokens: 10 })).toEqual(once);
    async function* asyncSections() {
      yield* sections;
    }
    expect(await collect(chunkSections(asyncSections(), { maxTokens: 64, overlapTokens: 10 }))).toEqual(once);
  });

  it('offsets chunks by the section start, so they index the whole text', () => {
    const text = `${'intro '.repeat(5)}\n\n${sentences(10)}`;
    const at = text.indexOf('Sentence');
    for (const c of chunk([section(text.slice(at), { start: at })], { maxTokens: 40, overlapTokens: 8 })) {
      expect(text.slice(c.metadata.start, c.metadata.end)).toBe(c.content);
    }
  });

  it('numbers chunks from startIndex and refuses to make chunk number maxChunks', () => {
    const sections = [section(sentences(30))];
    const chunks = chunk(sections, { maxTokens: 40, overlapTokens: 0, startIndex: 5 });
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, i) => 5 + i));
    const made: number[] = [];
    const run = () => {
      for (const c of chunkSections(sections, { maxTokens: 40, overlapTokens: 0, startIndex: 5, maxChunks: 8 })) made.push(c.index);
    };
    expect(run).toThrow(IngestError);
    expect(made).toEqual([5, 6, 7]);
    try {
      run();
    } catch (error) {
      expect((error as IngestError).code).toBe('too_much_text');
    }
  });

  it('embeds the heading path before the text without putting it into content, unless told not to', () => {
    const sections = [section('Plain text here.', { headings: ['Guide', 'Install'] })];
    const [withContext] = chunk(sections);
    expect(withContext).toMatchObject({ content: 'Plain text here.', context: 'Guide > Install', embeddingText: 'Guide > Install\n\nPlain text here.' });
    const [without] = chunk(sections, { contextPrefix: false });
    expect(without).toMatchObject({ content: 'Plain text here.', context: '', embeddingText: 'Plain text here.' });
    expect(without.tokenCount).toBeLessThan(withContext.tokenCount);
  });

  it('cuts a context longer than a quarter of maxTokens short', () => {
    const headings = Array.from({ length: 6 }, (_, i) => `A very long heading number ${i} that goes on and on about many things`);
    const [c] = chunk([section('Body.', { headings })], { maxTokens: 64 });
    expect(countTokens(c.context)).toBeLessThanOrEqual(16);
    expect(c.context.endsWith('…')).toBe(true);
    expect(c.metadata.headings).toEqual(headings);
  });

  it('rejects options outside their ranges', () => {
    const sections = [section('text')];
    for (const options of [{ maxTokens: 16 }, { maxTokens: 64, overlapTokens: 40 }, { overlapTokens: -1 }, { startIndex: -1 }, { maxChunks: 0 }, { maxTokens: 100.5 }]) {
      expect(() => chunk(sections, options), JSON.stringify(options)).toThrow(RangeError);
    }
  });
});
