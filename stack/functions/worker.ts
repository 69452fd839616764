import { type ChildProcess, spawn } from 'node:child_process';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { denoBinary, denoDir, NODE_MODULES_FLAG } from './deno.ts';
import type { FunctionSpec } from './discover.ts';
import { runtimeError } from './responses.ts';

/** Resource limits of one function process, as edge-runtime applies them to a worker. */
export interface WorkerLimits {
  /** V8 heap limit (`--max-old-space-size`); edge-runtime's is 256 MB. */
  memoryLimitMb: number;
  /** Longest a request may take before the process is terminated; edge-runtime's local default is 400 s. */
  wallClockLimitMs: number;
  /** How long a cold start may take to open its port. */
  bootTimeoutMs: number;
}

/** What a {@link FunctionWorker} needs besides its function. */
export interface WorkerOptions extends WorkerLimits {
  /** The function's environment, built at every (re)start so `.env` edits apply. */
  env: () => Promise<Record<string, string>>;
  /** Extra directories the function may read (e.g. `supabase/functions/_shared`). */
  readDirs: string[];
  /** More V8 flags for the process (benchmarks), e.g. `--max-semi-space-size=1`. */
  v8Flags?: string[];
  log: (line: string) => void;
}

type ExitReason = 'crash' | 'memory' | 'wall_clock' | 'stopped';

/** One running Deno process serving one function on a loopback port. */
interface DenoProcess {
  child: ChildProcess;
  port: number;
  /** Resolves with why the process ended. */
  exited: Promise<ExitReason>;
  reason?: ExitReason;
  /** Set by the runner before it kills the process, so the exit is attributed correctly. */
  killReason?: ExitReason;
  outOfMemory: boolean;
  addrInUse: boolean;
}

class BootError extends Error {
  constructor(
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

/** Bodies up to this size with a Content-Length are relayed whole rather than streamed. */
const SMALL_BODY_BYTES = 64 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/**
 * Runs one function in its own Deno process, started on the first request (cold start) and restarted by the
 * next request after it dies; proxies requests to it with bodies streamed both ways, and maps boot failures,
 * crashes and limits to edge-runtime's error responses.
 */
export class FunctionWorker {
  private current?: Promise<DenoProcess>;
  private closed = false;

  constructor(
    readonly spec: FunctionSpec,
    private readonly options: WorkerOptions,
  ) {}

  /** Proxies `request` (path `/<name>/…`) to the function, starting it if needed. */
  async fetch(request: Request): Promise<Response> {
    let proc: DenoProcess;
    try {
      proc = await this.ensureStarted();
    } catch (error) {
      this.log(`failed to boot: ${(error as Error).message}`);
      return runtimeError('BOOT_ERROR');
    }
    return this.forward(proc, request);
  }

  /** Stops the process (if any); the next request cold-starts a fresh one. */
  async restart(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    if (!current) return;
    const proc = await current.catch(() => undefined);
    if (proc) await this.kill(proc, 'stopped');
  }

  /** Stops the process for good. */
  async close(): Promise<void> {
    this.closed = true;
    await this.restart();
  }

  private log(line: string): void {
    this.options.log(`[functions:${this.spec.name}] ${line}`);
  }

  private ensureStarted(): Promise<DenoProcess> {
    if (this.closed) return Promise.reject(new Error('functions runner is closed'));
    if (!this.current) {
      const starting = this.startWithRetry();
      this.current = starting;
      starting.then(
        (proc) => {
          void proc.exited.then(() => {
            if (this.current === starting) this.current = undefined;
          });
        },
        () => {
          if (this.current === starting) this.current = undefined;
        },
      );
    }
    return this.current;
  }

  private async startWithRetry(): Promise<DenoProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.start();
      } catch (error) {
        // The free port we picked can be taken before Deno binds it; try another one.
        if (!(error instanceof BootError && error.retryable) || attempt >= 3) throw error;
      }
    }
  }

  private async start(): Promise<DenoProcess> {
    const { spec, options } = this;
    const port = await freePort();
    const importMapArgs = spec.configPath
      ? [`--config=${spec.configPath}`]
      : spec.importMapPath
        ? [`--import-map=${spec.importMapPath}`]
        : [];
    const args = [
      'run',
      '--no-prompt',
      '--no-lock',
      NODE_MODULES_FLAG,
      ...importMapArgs,
      // What edge-runtime grants a user worker: network, its env, reading its own code, and the host name (the
      // AI SDK reads it as it loads).
      '--allow-net',
      '--allow-env',
      '--allow-sys=hostname',
      `--allow-read=${[spec.dir, ...options.readDirs].join(',')}`,
      `--v8-flags=${[`--max-old-space-size=${options.memoryLimitMb}`, ...(options.v8Flags ?? [])].join(',')}`,
      spec.entrypoint,
    ];
    const env = {
      ...(await options.env()),
      DENO_DIR: denoDir(),
      DENO_SERVE_ADDRESS: `tcp:127.0.0.1:${port}`,
      DENO_NO_UPDATE_CHECK: '1',
      NO_COLOR: '1',
    };
    this.log(`booting (port ${port})`);
    const child = spawn(denoBinary(), args, { cwd: spec.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const proc: DenoProcess = { child, port, exited: undefined as never, outOfMemory: false, addrInUse: false };
    proc.exited = new Promise<ExitReason>((resolveExit) => {
      // 'close' (not 'exit') fires after stdout/stderr are drained, so the logs and the out-of-memory marker are in.
      child.once('close', (code, signal) => {
        proc.reason = proc.killReason ?? (proc.outOfMemory ? 'memory' : 'crash');
        if (proc.reason !== 'stopped') this.log(`exited (${signal ?? `code ${code}`}, ${proc.reason})`);
        resolveExit(proc.reason);
      });
      child.once('error', (error) => {
        this.log(`could not start Deno: ${error.message}`);
        proc.reason = 'crash';
        resolveExit('crash');
      });
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        if (/out of memory/i.test(line)) proc.outOfMemory = true;
        if (/AddrInUse/.test(line)) proc.addrInUse = true;
        this.log(line);
      });
    }

    const ready = await waitForPort(port, proc.exited, options.bootTimeoutMs);
    if (ready === 'exited') {
      throw new BootError(`process exited before listening (${proc.reason})`, proc.addrInUse);
    }
    if (ready === 'timeout') {
      await this.kill(proc, 'stopped');
      throw new BootError(`no listener on port ${port} after ${options.bootTimeoutMs} ms`);
    }
    return proc;
  }

  private async kill(proc: DenoProcess, reason: ExitReason): Promise<void> {
    if (proc.reason) return;
    proc.killReason ??= reason;
    proc.child.kill('SIGTERM');
    const escalate = setTimeout(() => proc.child.kill('SIGKILL'), 2000);
    await proc.exited;
    clearTimeout(escalate);
  }

  private forward(proc: DenoProcess, request: Request): Promise<Response> {
    const url = new URL(request.url);
    return new Promise<Response>((resolveResponse) => {
      let answered = false;
      const answer = (response: Response) => {
        if (answered) return;
        answered = true;
        resolveResponse(response);
      };
      const answerWithExit = async () => {
        // A reset socket usually means the process died; give its exit event a moment to say why.
        const reason = await Promise.race([proc.exited, delay(2000).then(() => undefined)]);
        answer(runtimeError(reason === 'memory' || reason === 'wall_clock' ? 'WORKER_LIMIT' : 'WORKER_ERROR'));
      };

      const wallClock = setTimeout(() => {
        this.log(`wall clock limit of ${this.options.wallClockLimitMs} ms reached; terminating`);
        void this.kill(proc, 'wall_clock');
      }, this.options.wallClockLimitMs);
      const done = () => clearTimeout(wallClock);

      const upstream = httpRequest({
        host: '127.0.0.1',
        port: proc.port,
        method: request.method,
        path: url.pathname + url.search,
        headers: toNodeHeaders(request.headers),
      });
      const onAbort = () => upstream.destroy(new Error('client aborted'));
      request.signal.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => {
        done();
        request.signal.removeEventListener('abort', onAbort);
      };
      void proc.exited.then(() => {
        if (!answered) void answerWithExit();
      });

      upstream.on('error', () => {
        if (!answered) void answerWithExit().finally(cleanup);
        else cleanup();
      });
      upstream.on('response', (res: IncomingMessage) => {
        res.once('close', cleanup);
        const noBody = request.method === 'HEAD' || [101, 204, 205, 304].includes(res.statusCode ?? 0);
        if (noBody) res.resume();
        const init = { status: res.statusCode, statusText: res.statusMessage, headers: fromNodeHeaders(res.rawHeaders) };
        const length = Number(res.headers['content-length'] ?? NaN);
        if (!noBody && length <= SMALL_BODY_BYTES) {
          // A small body of announced length (never a stream such as SSE, which has none) is passed on whole: the
          // server then writes it in one go instead of pumping a stream.
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.once('end', () => answer(new Response(Buffer.concat(chunks), init)));
          res.once('error', () => void answerWithExit());
          return;
        }
        answer(new Response(noBody ? null : webStream(res), init));
      });

      if (request.body && request.method !== 'GET' && request.method !== 'HEAD') {
        const body = Readable.fromWeb(request.body as import('node:stream/web').ReadableStream<Uint8Array>);
        body.on('error', (error) => upstream.destroy(error));
        body.pipe(upstream);
      } else {
        upstream.end();
      }
    });
  }
}

/**
 * The upstream body as a web stream, chunk for chunk as Deno writes them (SSE is never held back), pausing the socket
 * while the consumer is behind. Lighter than `Readable.toWeb`, which costs a good part of a small call's proxying.
 */
function webStream(res: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        res.on('data', (chunk: Buffer) => {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 1) <= 0) res.pause();
        });
        res.once('end', () => controller.close());
        res.once('error', (error) => controller.error(error));
      },
      pull() {
        res.resume();
      },
      cancel(reason) {
        res.destroy(reason instanceof Error ? reason : undefined);
      },
    },
    { highWaterMark: 1 },
  );
}

function toNodeHeaders(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  headers.forEach((value, name) => {
    if (HOP_BY_HOP.has(name)) return;
    out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out['set-cookie'] = cookies;
  return out;
}

function fromNodeHeaders(raw: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    headers.append(raw[i], raw[i + 1]);
  }
  return headers;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolveDelay) => setTimeout(resolveDelay, ms).unref());
}

/** A port that was free a moment ago on the loopback interface. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveConnect) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveConnect(true);
    });
    socket.once('error', () => resolveConnect(false));
  });
}

async function waitForPort(port: number, exited: Promise<ExitReason>, timeoutMs: number): Promise<'ready' | 'exited' | 'timeout'> {
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited) return 'exited';
    if (await canConnect(port)) return hasExited ? 'exited' : 'ready';
    await delay(25);
  }
  return 'timeout';
}
