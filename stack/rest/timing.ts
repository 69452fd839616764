import type { BatchTx } from '../db/pool.ts';

/**
 * Durations of one request's phases, sent as `Server-Timing` when enabled (PostgREST's `server-timing-enabled`):
 * `jwt` (token verification), `parse` (URL, headers and body), `transaction` (time waiting on the database) and
 * `plan` (the rest of the work in between: building SQL and rendering the response). Milliseconds.
 */
export class ServerTiming {
  private readonly durations = new Map<string, number>();

  add(name: string, ms: number): void {
    this.durations.set(name, (this.durations.get(name) ?? 0) + ms);
  }

  get(name: string): number {
    return this.durations.get(name) ?? 0;
  }

  /** Runs `fn` and adds its duration to `name`. */
  async time<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await fn();
    } finally {
      this.add(name, performance.now() - start);
    }
  }

  /** Wraps a transaction so that time spent in its queries counts as `transaction`. */
  wrap(tx: BatchTx): BatchTx {
    return {
      query: (text, final, values) => this.time('transaction', () => tx.query(text, final, values)),
      extended: (text, values) => this.time('transaction', () => tx.extended(text, values)),
    };
  }

  header(): string {
    return [...this.durations].map(([name, ms]) => `${name};dur=${ms.toFixed(3)}`).join(', ');
  }
}

/** Parses a `Server-Timing` header into milliseconds by metric name (for benchmarks and tests). */
export function parseServerTiming(header: string | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().split(';');
    const dur = params.map((p) => p.trim()).find((p) => p.startsWith('dur='));
    if (name && dur) out.set(name, Number(dur.slice(4)));
  }
  return out;
}
