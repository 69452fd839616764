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
