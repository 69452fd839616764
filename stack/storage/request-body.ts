/** Most bytes of an unread request body read and dropped after a refusal before the connection is given up. */
export const DRAIN_MAX_BYTES = 16 * 1024 * 1024;
/** Longest wait for the rest of a refused body (a client that stalls mid-body is not waited for). */
export const DRAIN_MAX_MS = 5_000;
/** How long the rest of a longer refused body is still read and dropped after the answer has been sent. */
export const LINGER_MS = 10_000;

/** A request whose handler may stop reading the body, and what is left of it afterwards. */
export interface GuardedRequest {
  /** The same request, with a body whose cancellation (a handler abandoning it) leaves the rest readable here. */
  request: Request;
  /**
   * Reads and drops what the handler left of the body, up to {@link DRAIN_MAX_BYTES} and {@link DRAIN_MAX_MS}
   * (nothing when the declared length is over the byte bound), before the answer. What is left beyond that is read
   * and dropped after the answer, for up to {@link LINGER_MS} ("lingering close"), and only then is the connection
   * given up. `false` only when the body can no longer be read (the client went away).
   */
  drain(): Promise<boolean>;
}

/**
 * Wraps a request body so that a refusal never leaves unread bytes on a kept-alive connection. Why: a handler
 * that refuses an upload stops reading mid-body. Answering while the client is still sending and then closing
 * the socket makes the kernel reset the connection, which can destroy the answer before the client reads it
 * (the client sees EPIPE or "fetch failed" instead of the 413); keeping the connection without reading the rest
 * leaves the client's next request stuck behind it. So the rest is read and dropped (bounded) before the answer;
 * a longer rest is read after it, while the client reads the answer (most clients then stop sending and close).
 */
export function guardBody(request: Request): GuardedRequest {
  const source = request.body;
  if (!source) return { request, drain: async () => true };
  const reader = source.getReader();
  let ended = false;
  let failed = false;
  const read = async () => {
    try {
      const result = await reader.read();
      if (result.done) ended = true;
      return result;
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    // Deliberately not cancelling `reader`: what the handler leaves is drained (or given up) by `drain`.
    cancel() {},
  });
  const guarded = new Request(request.url, {
    method: request.method,
    headers: request.headers,
    body,
    signal: request.signal,
    duplex: 'half',
  } as RequestInit);

  return {
    request: guarded,
    async drain(): Promise<boolean> {
      if (ended) return true;
      if (failed) return false;
      const declared = Number(request.headers.get('content-length'));
      if (Number.isFinite(declared) && declared > DRAIN_MAX_BYTES) return giveUp();
      let received = 0;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), DRAIN_MAX_MS);
      });
      try {
        for (;;) {
          const next = await Promise.race([read(), timeout]);
          if (next === 'timeout') return giveUp();
          if (next.done) return true;
          received += next.value.byteLength;
          if (received > DRAIN_MAX_BYTES) return giveUp();
        }
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };

  /**
   * Answers now and keeps reading (and dropping) the rest while the client reads the answer: closing a socket the
   * client is still writing to resets it, which can destroy the answer before it is read. After
   * {@link LINGER_MS} whatever is left is given up (cancelling the body closes the connection).
   */
  function giveUp(): boolean {
    const deadline = Date.now() + LINGER_MS;
    void (async () => {
      for (;;) {
        const left = deadline - Date.now();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), Math.max(0, left))));
        try {
          const next = await Promise.race([read(), timeout]);
          if (next === 'timeout') break;
          if (next.done) return;
        } catch {
          return;
        } finally {
          clearTimeout(timer);
        }
      }
      await reader.cancel().catch(() => {});
    })();
    return true;
  }
}
