import type { Env, MiddlewareHandler } from 'hono';

/**
 * Reads a request body to its end and drops it, up to `maxBytes`; `false` if it was longer (the rest is left
 * unread) or broke. Memory stays constant.
 */
export async function discardBody(request: Request, maxBytes: number): Promise<boolean> {
  if (!request.body || request.bodyUsed || request.body.locked) return true;
  const reader = request.body.getReader();
  let received = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return true;
      received += value.length;
      if (received > maxBytes) {
        await reader.cancel().catch(() => {});
        return false;
      }
    }
  } catch {
    return false;
  }
}

/**
 * Hono middleware for upload routes: after the route has answered without reading the request body (a 401, a
 * 400 on the query, an early 409/413), reads and drops the body (up to `maxBytes`) before the answer goes out.
 * Many HTTP/1.1 clients and proxies cannot read an answer sent while they are still sending, or reuse the
 * connection afterwards. Bodies declared longer than `maxBytes` are not read at all.
 */
export function drainUnreadBody(maxBytes: number): MiddlewareHandler<Env> {
  return async (c, next) => {
    await next();
    const declared = Number(c.req.header('content-length'));
    if (declared > maxBytes) return;
    await discardBody(c.req.raw, maxBytes);
  };
}

/**
 * Hono middleware for JSON routes: refuses a request body over `maxBytes` with the error `tooLarge()` returns —
 * by its `Content-Length` before anything is read, or, for a body without one (chunked), counted as it arrives.
 * Such a body is buffered (never more than `maxBytes`) and handed on, so the route reads it as usual. A chunked body
 * that runs over is read to its end and dropped (up to `drainBytes` in all, then cancelled) before the answer goes
 * out, for the reason {@link drainUnreadBody} gives: a client still sending cannot read an answer.
 */
export function limitBody(maxBytes: number, tooLarge: () => Error, drainBytes = 16 * maxBytes): MiddlewareHandler<Env> {
  return async (c, next) => {
    const raw = c.req.raw;
    if (!raw.body) return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && !c.req.header('transfer-encoding')) {
      if (Number(declared) > maxBytes) throw tooLarge();
      return next();
    }
    const reader = raw.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > maxBytes) {
        await drain(reader, drainBytes - size);
        throw tooLarge();
      }
      chunks.push(value);
    }
    const body = new Uint8Array(size);
    let offset = 0;
    for (const chunk of chunks) {
      body.set(chunk, offset);
      offset += chunk.length;
    }
    // Same method, headers and abort signal; only the body is now the bytes read.
    c.req.raw = new Request(raw, { body });
    return next();
  };
}

/** Reads and drops the rest of a body, up to `maxBytes`; cancels it if there is more (or it breaks). */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let received = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      received += value.length;
      if (received > maxBytes) break;
    }
  } catch {
    // a broken body: nothing left to drain
  }
  await reader.cancel().catch(() => {});
}
