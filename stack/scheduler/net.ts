import type { Db } from '../db/pool.ts';

/** Requests in flight at once. */
const MAX_IN_FLIGHT = 8;
/** pg_net.ttl: responses older than this are deleted. */
const RESPONSE_TTL = '6 hours';
const PRUNE_EVERY_MS = 60_000;
const USER_AGENT = 'pg_net/0.20.0 (lite stack)';

/** A row taken from net.http_request_queue. */
interface QueuedRequest {
  id: string;
  method: string;
  url: string;
  headers: Record<string, unknown> | null;
  body: Buffer | null;
  timeout_milliseconds: number;
}

/** What is written to net._http_response. */
interface Outcome {
  status_code: number | null;
  content_type: string | null;
  headers: Record<string, string> | null;
  content: string | null;
  timed_out: boolean;
  error_msg: string | null;
}

class RequestTimeout extends Error {}
class Stopped extends Error {}

/**
 * pg_net's background worker, for the lite stack's pg_net: takes queued requests (deleting them in one short
 * transaction, so each is sent once and only after the transaction that queued it committed), sends them with
 * fetch while no transaction is open, and records each outcome in net._http_response under the request's id.
 */
export class NetExecutor {
  private readonly inFlight = new Set<AbortController>();
  private lastPrune = 0;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly log: (line: string) => void,
  ) {}

  /** Takes as many queued requests as there is room for and starts them; resolves with the sends it started. */
  async tick(now: number): Promise<Array<Promise<void>>> {
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.db.query(`delete from net._http_response where created < pg_catalog.now() - $1::interval`, [RESPONSE_TTL]);
    }
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0 || this.stopped) return [];
    const { rows } = await this.db.query<QueuedRequest>(
      `delete from net.http_request_queue q
        using (select id from net.http_request_queue order by id limit $1 for update skip locked) taken
        where q.id = taken.id
       returning q.id::text as id, q.method, q.url, q.headers, q.body, q.timeout_milliseconds`,
      [room],
    );
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    return rows.map((request) => this.send(request));
  }

  /** Aborts requests in flight; their outcomes are not recorded (pg_net loses them on shutdown too). */
  stop(): void {
    this.stopped = true;
    for (const controller of this.inFlight) controller.abort(new Stopped());
  }

  private async send(request: QueuedRequest): Promise<void> {
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new RequestTimeout()), request.timeout_milliseconds);
    const started = performance.now();
    let outcome: Outcome;
    try {
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.headers ?? {})) {
        headers.set(name, typeof value === 'string' ? value : JSON.stringify(value));
      }
      if (!headers.has('user-agent')) headers.set('user-agent', USER_AGENT);
      const response = await fetch(request.url, {
        method: request.method.toUpperCase(),
        headers,
        body: request.body ? new Uint8Array(request.body) : undefined,
        redirect: 'follow',
        signal: controller.signal,
      });
      // A NUL ends the text, as it does for pg_net (and text cannot hold one).
      const content = (await response.text()).split('\0')[0];
      outcome = {
        status_code: response.status,
        content_type: response.headers.get('content-type'),
        headers: Object.fromEntries(response.headers),
        content: content === '' ? null : content,
        timed_out: false,
        error_msg: null,
      };
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      if (reason instanceof Stopped) return;
      const timedOut = reason instanceof RequestTimeout;
      outcome = {
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: timedOut,
        error_msg: timedOut
          ? `Timeout of ${request.timeout_milliseconds} ms reached. Total time: ${(performance.now() - started).toFixed(6)} ms`
          : describeFetchError(error),
      };
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(controller);
    }

    const elapsed = Math.round(performance.now() - started);
    const what = `${request.method.toUpperCase()} ${request.url}`;
    this.log(
      outcome.status_code !== null
        ? `net: ${what} → ${outcome.status_code} (${elapsed} ms)`
        : `net: ${what} failed: ${outcome.error_msg} (${elapsed} ms)`,
    );
    try {
      await this.db.query(
        `insert into net._http_response (id, status_code, content_type, headers, content, timed_out, error_msg)
         values ($1, $2, $3, $4::jsonb, $5, $6, $7)`,
        [
          request.id,
          outcome.status_code,
          outcome.content_type,
          outcome.headers && JSON.stringify(outcome.headers),
          outcome.content,
          outcome.timed_out,
          outcome.error_msg,
        ],
      );
    } catch (error) {
      if (!this.stopped) this.log(`net: the response to request ${request.id} could not be recorded: ${(error as Error).message}`);
    }
  }
}

/** curl's wording for the failures pg_net reports most, so error_msg reads the same; otherwise Node's message. */
function describeFetchError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  switch (cause?.code) {
    case 'ECONNREFUSED':
      return "Couldn't connect to server";
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return "Couldn't resolve host name";
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'Failure when receiving data from the peer';
    case 'ERR_INVALID_URL':
      return 'URL using bad/illegal format or missing URL';
  }
  if (error instanceof TypeError && /invalid url|failed to parse url/i.test(error.message)) {
    return 'URL using bad/illegal format or missing URL';
  }
  if (cause?.message && /scheme|protocol/i.test(cause.message)) return 'Unsupported protocol';
  return cause?.message ?? (error as Error).message ?? String(error);
}
