import { Duplex } from 'node:stream';
import type { PGlite } from '@electric-sql/pglite';
import type { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * The socket server's statement queue: one statement at a time into PGlite, and while a connection is inside a
 * transaction only that connection's messages run. Not exported by `@electric-sql/pglite-socket`; see
 * {@link inProcessConnector}.
 */
interface StatementQueue {
  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number>;
  clearQueueForHandler(handlerId: number): void;
  clearTransactionIfNeeded(handlerId: number): Promise<void>;
}

/** Runs a message at once and returns true, or returns false when it must wait its turn in the queue. */
type FastLane = (handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void, onError: (error: unknown) => void) => boolean;

/**
 * The queue's turn-taking without the queue when nothing is waiting: if no statement is running or queued and no
 * other connection holds a transaction open, a message runs right away, synchronously, exactly as the queue would run
 * it next (its handler then counts as the last one, which is what keeps its transaction exclusive). This skips three
 * promise-based locks per message. It reads the queue's private state, so it is only used when that state looks as
 * expected; otherwise every message goes through `enqueue`.
 *
 * PGlite's `syncToFs` is skipped here: the embedded database's file systems (in memory, or Node's) write through, and
 * their `syncToFs` does nothing.
 */
function fastLane(queue: StatementQueue, db: PGlite): FastLane | undefined {
  const state = queue as unknown as { processing?: unknown; queue?: unknown; lastHandlerId?: unknown };
  if (typeof state.processing !== 'boolean' || !Array.isArray(state.queue) || !('lastHandlerId' in state)) return undefined;
  return (handlerId, message, onData, onError) => {
    // The array itself, read each time: the queue replaces it when a connection goes (and a message that ran here
    // while another waited would leave that one waiting, since only `enqueue` starts the queue again).
    if (state.processing || (state.queue as unknown[]).length > 0) return false;
    if (db.isInTransaction() && state.lastHandlerId !== handlerId) return false;
    state.lastHandlerId = handlerId;
    // With `syncToFs: false` the whole call is synchronous: the answer has been handed to `onData` when it returns.
    db.execProtocolRawStream(message, { syncToFs: false, onRawData: onData }).catch(onError);
    return true;
  };
}

function isStatementQueue(value: unknown): value is StatementQueue {
  const q = value as Partial<StatementQueue> | undefined;
  return typeof q?.enqueue === 'function' && typeof q.clearQueueForHandler === 'function' && typeof q.clearTransactionIfNeeded === 'function';
}

/** Ids of in-process connections: negative, so they never meet the socket server's (1, 2, 3, …) and stay truthy. */
let lastChannelId = 0;

/**
 * One Postgres wire-protocol connection to the embedded PGlite without a socket: what the client writes goes into the
 * socket server's statement queue (so it takes its turn with TCP clients and keeps a transaction exclusive exactly as
 * theirs do), and PGlite's answers are pushed back as they come. It looks enough like a `net.Socket` for `pg`'s
 * `stream` option (`connect`, `setNoDelay`, `ref`, …).
 *
 * Complete messages written in the same turn of the event loop travel together (`pg` writes Parse, Bind, Describe,
 * Execute and Sync one by one), as they would arrive in one TCP segment; the startup packet always travels alone.
 */
export class PgliteChannel extends Duplex {
  private readonly id = --lastChannelId;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushScheduled = false;
  private started = false;
  private inFlight: Promise<unknown> = Promise.resolve();

  private readonly onData = (data: Uint8Array) => {
    if (this.destroyed || data.length === 0) return;
    // Called from inside PGlite while it runs: what the client does with the data (synchronously, on 'data') must not
    // throw into the database (a throw there would also leave the socket server's queue stuck).
    try {
      this.push(Buffer.from(data));
    } catch (error) {
      process.nextTick(() => this.fail(error));
    }
  };

  constructor(
    private readonly queue: StatementQueue,
    private readonly lane?: FastLane,
  ) {
    super();
  }

  connect(): this {
    process.nextTick(() => this.emit('connect'));
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // Not sooner than the event loop's next turn: a chain of queries answered synchronously would otherwise run as
      // one long task, holding off every socket and timer (HTTP requests, keep-alive timeouts) until it ended.
      setImmediate(() => this.flush());
    }
    callback();
  }

  /** Sends every complete message buffered so far; a partial one waits for the rest. */
  private flush(): void {
    this.flushScheduled = false;
    if (this.destroyed || this.pendingBytes === 0) return;
    const buffer = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    const messages: Buffer[] = [];
    let end = 0;
    if (!this.started) {
      // The startup packet: an int32 length (itself included) and no type byte.
      if (buffer.length < 4 || buffer.length < buffer.readInt32BE(0)) return this.keep(buffer);
      end = buffer.readInt32BE(0);
      messages.push(buffer.subarray(0, end));
      this.started = true;
    }
    const batchStart = end;
    while (buffer.length - end >= 5) {
      const length = 1 + buffer.readInt32BE(end + 1);
      if (buffer.length - end < length) break;
      end += length;
    }
    if (end > batchStart) messages.push(buffer.subarray(batchStart, end));
    if (end < buffer.length) this.keep(buffer.subarray(end));
    for (const message of messages) this.send(message);
  }

  private keep(rest: Buffer): void {
    this.pending = [Buffer.from(rest)];
    this.pendingBytes = rest.length;
  }

  private readonly fail = (error: unknown) => {
    this.destroy(error instanceof Error ? error : new Error(String(error)));
  };

  private send(message: Buffer): void {
    if (this.lane?.(this.id, message, this.onData, this.fail)) return;
    this.inFlight = this.queue.enqueue(this.id, message, this.onData).catch(this.fail);
  }

  override _final(callback: (error?: Error | null) => void): void {
    // `end()` after Terminate: let what was written reach PGlite first, then close like a socket would.
    if (this.pendingBytes > 0) this.flush();
    this.inFlight.then(() => {
      callback();
      this.push(null);
      this.destroy();
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // What a TCP client's disconnect does: its queued messages are dropped and its open transaction rolled back.
    this.queue.clearQueueForHandler(this.id);
    this.queue
      .clearTransactionIfNeeded(this.id)
      .catch(() => {})
      .then(() => callback(error));
  }
}

/** Opens in-process connections, and closes them all before the database shuts down. */
export interface InProcessConnector {
  /** A new connection's stream, for `pg`'s `stream` option. */
  connect(): Duplex;
  /** Ends every open connection (rolling back what they left open) and refuses new ones. */
  close(): Promise<void>;
}

/**
 * The in-process connector for `server`, or `undefined` when this version of `@electric-sql/pglite-socket` keeps its
 * queue elsewhere (callers then connect over TCP as any client would; a test guards against that going unnoticed).
 */
export function inProcessConnector(server: PGLiteSocketServer): InProcessConnector | undefined {
  const queue = (server as unknown as { queryQueue?: unknown }).queryQueue;
  if (!isStatementQueue(queue)) return undefined;
  const lane = fastLane(queue, server.db);
  const open = new Set<PgliteChannel>();
  let closed = false;
  return {
    connect() {
      const channel = new PgliteChannel(queue, lane);
      if (closed) {
        process.nextTick(() => channel.destroy(new Error('the embedded database is shutting down')));
        return channel;
      }
      open.add(channel);
      channel.once('close', () => open.delete(channel));
      return channel;
    },
    async close() {
      closed = true;
      await Promise.all(
        [...open].map(
          (channel) =>
            new Promise<void>((resolve) => {
              channel.once('close', () => resolve());
              channel.destroy();
            }),
        ),
      );
    },
  };
}
