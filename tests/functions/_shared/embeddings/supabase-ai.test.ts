import { describe, expect, it } from 'vitest';
import {
  createEmbedder,
  EmbeddingError,
  type SupabaseAiRunOptions,
  type SupabaseRuntime,
} from '../../../../supabase/functions/_shared/embeddings/index.ts';
import { EnvError } from '../../../../supabase/functions/_shared/env.ts';
import { createLogger } from '../../../../supabase/functions/_shared/log.ts';

const logger = createLogger({}, () => {});

/** A deterministic 384-wide unit vector for `text`, standing in for gte-small's output. */
function gteVector(text: string): number[] {
  const raw = Array.from({ length: 384 }, (_, i) => Math.sin(i * (1 + text.length / 7) + text.charCodeAt(0)));
  const norm = Math.hypot(...raw);
  return raw.map((value) => value / norm);
}

/**
 * A stand-in for the edge runtime's `Supabase` global with the call shape `edge-runtime.d.ts` declares:
 * `new Supabase.ai.Session(model)` and `session.run(prompt, modelOptions)` resolving to a list of numbers.
 */
function fakeRuntime(output: (prompt: string) => unknown = gteVector) {
  const sessions: string[] = [];
  const runs: Array<{ prompt: string; options: SupabaseAiRunOptions | undefined }> = [];
  class Session {
    constructor(model: string) {
      sessions.push(model);
    }

    run(prompt: string, modelOptions?: SupabaseAiRunOptions): Promise<unknown> {
      runs.push({ prompt, options: modelOptions });
      return Promise.resolve().then(() => output(prompt));
    }
  }
  const runtime: SupabaseRuntime = { ai: { Session } };
  return { runtime, sessions, runs };
}

describe('supabase embedder', () => {
  it('runs gte-small once per text on one session, with mean pooling and normalisation', async () => {
    const { runtime, sessions, runs } = fakeRuntime();
    const embedder = await createEmbedder({ provider: 'supabase' }, { logger, supabase: runtime });

    const vectors = await embedder.embed(['first text', 'second']);
    await embedder.embed(['third']);

    expect(embedder.id).toBe('supabase:gte-small');
    expect(sessions).toEqual(['gte-small']);
    expect(runs).toEqual([
      { prompt: 'first text', options: { mean_pool: true, normalize: true } },
      { prompt: 'second', options: { mean_pool: true, normalize: true } },
      { prompt: 'third', options: { mean_pool: true, normalize: true } },
    ]);
    expect(vectors).toHaveLength(2);
    vectors.forEach((vector, i) => {
      const expected = gteVector(['first text', 'second'][i]);
      expect(Math.max(...vector.map((value, d) => Math.abs(value - expected[d])))).toBeLessThan(1e-12);
    });
  });

  it('passes the abort signal to the runtime and stops between texts once it fires', async () => {
    const controller = new AbortController();
    const { runtime, runs } = fakeRuntime((prompt) => {
      controller.abort();
      return gteVector(prompt);
    });
    const embedder = await createEmbedder({ provider: 'supabase' }, { logger, supabase: runtime });

    await expect(embedder.embed(['one', 'two'], { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' });
    expect(runs).toHaveLength(1);
    expect(runs[0].options?.signal).toBe(controller.signal);
  });

  it('fails at creation naming EMBEDDINGS_PROVIDER outside the edge runtime', async () => {
    const creation = createEmbedder({ provider: 'supabase' }, { logger, supabase: undefined });
    await expect(creation).rejects.toBeInstanceOf(EnvError);
    await expect(creation).rejects.toMatchObject({
      variables: ['EMBEDDINGS_PROVIDER'],
      message: expect.stringContaining('EMBEDDINGS_PROVIDER=supabase needs the Supabase edge runtime (Supabase.ai)'),
    });
  });

  it('rejects output of the wrong width as invalid_dimensions', async () => {
    const { runtime } = fakeRuntime(() => new Array(768).fill(0.1));
    const embedder = await createEmbedder({ provider: 'supabase' }, { logger, supabase: runtime });

    const error = await embedder.embed(['x']).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EmbeddingError);
    expect(error).toMatchObject({ code: 'invalid_dimensions', retryable: false });
  });

  it('reports a failing model run as retryable inference_failed', async () => {
    const { runtime } = fakeRuntime(() => {
      throw new Error('model worker is gone');
    });
    const embedder = await createEmbedder({ provider: 'supabase' }, { logger, supabase: runtime });

    await expect(embedder.embed(['x'])).rejects.toMatchObject({
      code: 'inference_failed',
      retryable: true,
      message: 'Supabase.ai gte-small failed: model worker is gone',
    });
  });
});
