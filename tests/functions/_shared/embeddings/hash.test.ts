import { describe, expect, it } from 'vitest';
import { createEmbedder, EMBEDDING_DIMENSIONS, type Embedder } from '../../../../supabase/functions/_shared/embeddings/index.ts';
import { hashEmbedding } from '../../../../supabase/functions/_shared/embeddings/hash.ts';
import { createLogger, type LogLevel } from '../../../../supabase/functions/_shared/log.ts';

function recordingLogger() {
  const lines: Array<{ level: LogLevel; entry: Record<string, unknown> }> = [];
  const logger = createLogger({}, (level, line) => lines.push({ level, entry: JSON.parse(line) }));
  return { logger, lines };
}

async function hashEmbedder(): Promise<Embedder> {
  return createEmbedder({ provider: 'hash' }, { logger: recordingLogger().logger });
}

function cosine(a: number[], b: number[]): number {
  return a.reduce((sum, value, i) => sum + value * b[i], 0);
}

function norm(vector: number[]): number {
  return Math.hypot(...vector);
}

describe('hash embedder', () => {
  it('is labelled dev-only and warns once, when created', async () => {
    const { logger, lines } = recordingLogger();
    const embedder = await createEmbedder({ provider: 'hash' }, { logger });
    await embedder.embed(['one', 'two']);
    await embedder.embed(['three']);
    expect(embedder.id).toBe('hash-dev-v1');
    expect(embedder.dimensions).toBe(384);
    expect(lines).toHaveLength(1);
    expect(lines[0].level).toBe('warn');
    expect(lines[0].entry.msg).toContain('dev-only lexical embedder');
    expect(lines[0].entry.msg).toContain('set EMBEDDINGS_PROVIDER for real semantic search');
  });

  it('returns one unit-length 384-dimensional vector per text, in order', async () => {
    const texts = ['Postgres stores vectors', 'Deno runs edge functions', 'a'];
    const vectors = await (await hashEmbedder()).embed(texts);
    expect(vectors).toHaveLength(3);
    for (const [i, vector] of vectors.entries()) {
      expect(vector).toHaveLength(EMBEDDING_DIMENSIONS);
      expect(norm(vector)).toBeCloseTo(1, 12);
      expect(vector).toEqual(hashEmbedding(texts[i]));
    }
  });

  it('is deterministic: the same text always gives the same vector', () => {
    const text = 'The quick brown fox jumps over the lazy dog.';
    expect(hashEmbedding(text)).toEqual(hashEmbedding(text));
    // Pinned values: a change to the algorithm must bump the embedder id, or stored vectors stop matching.
    const largest = hashEmbedding(text)
      .map((value, bucket) => [bucket, Number(value.toFixed(6))])
      .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]))
      .slice(0, 3);
    expect(largest).toEqual([
      [120, 0.441356],
      [105, 0.32584],
      [295, -0.32584],
    ]);
  });

  it('ignores case, punctuation and Unicode compatibility forms', () => {
    expect(hashEmbedding('Hello, World!')).toEqual(hashEmbedding('hello world'));
    expect(hashEmbedding('ＡＢＣ ﬁle')).toEqual(hashEmbedding('abc file'));
    expect(hashEmbedding('Straße')).toEqual(hashEmbedding('STRAẞE'.toLowerCase()));
  });

  it('ranks a text sharing words above one that shares none', () => {
    const query = hashEmbedding('how do I reset my password');
    const related = hashEmbedding('To reset your password, open the account settings.');
    const unrelated = hashEmbedding('Quarterly revenue grew by eight percent.');
    expect(cosine(query, related)).toBeGreaterThan(cosine(query, unrelated) + 0.2);
  });

  it('lets inflected words overlap through character trigrams', () => {
    const base = hashEmbedding('embedding');
    expect(cosine(base, hashEmbedding('embeddings'))).toBeGreaterThan(cosine(base, hashEmbedding('database')) + 0.2);
  });

  it('rewards word order through word pairs', () => {
    const phrase = hashEmbedding('vector search');
    expect(cosine(phrase, hashEmbedding('fast vector search'))).toBeGreaterThan(cosine(phrase, hashEmbedding('search vector fast')));
  });

  it('tokenises words of any script', () => {
    expect(cosine(hashEmbedding('東京 タワー'), hashEmbedding('東京'))).toBeGreaterThan(0.3);
    expect(cosine(hashEmbedding('привет мир'), hashEmbedding('мир'))).toBeGreaterThan(0.3);
  });

  it('gives every text without words the same defined unit vector, unlike any word', () => {
    const empty = hashEmbedding('');
    expect(norm(empty)).toBeCloseTo(1, 12);
    expect(empty.filter((value) => value !== 0)).toHaveLength(1);
    expect(hashEmbedding('   ')).toEqual(empty);
    expect(hashEmbedding('!?… —')).toEqual(empty);
    expect(Math.abs(cosine(empty, hashEmbedding('hello')))).toBeLessThan(0.5);
  });

  it('rejects with the abort reason when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect((await hashEmbedder()).embed(['text'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
