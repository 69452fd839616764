import { existsSync, type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';
import { REPO_ROOT } from './deno.ts';
import { type FunctionSpec, functionsRoot, resolveFunction } from './discover.ts';
import { functionEnvironment } from './environment.ts';
import { functionNotFound, unauthorized } from './responses.ts';
import { FunctionWorker, type WorkerLimits } from './worker.ts';

/** Runner settings; the defaults are edge-runtime's local ones. */
export interface FunctionsOptions extends Partial<WorkerLimits> {
  /** Restart a function when files under its folder, `_shared` or `.env` change (`npm run dev`). Default false. */
  watch?: boolean;
  /** Extra secrets for every function, on top of `supabase/functions/.env` (like `functions serve --env-file`). */
  env?: Record<string, string>;
  /** More V8 flags for every function process (benchmarks). */
  v8Flags?: string[];
}

/** edge-runtime's local defaults (`supabase functions serve`). */
export const DEFAULT_LIMITS: WorkerLimits = {
  memoryLimitMb: 256,
  wallClockLimitMs: 400_000,
  bootTimeoutMs: 60_000,
};

/**
 * The Edge Functions runtime of the lite stack (what edge-runtime's main service does behind `/functions/v1`):
 * receives `/<name>/…`, enforces `verify_jwt`, and proxies to one real Deno process per function, started on first
 * request. See {@link FunctionWorker} for process handling and limits.
 */
export async function createFunctionsService(
  ctx: StackContext,
  options: FunctionsOptions = ctx.functions ?? {},
): Promise<Service | undefined> {
  const limits: WorkerLimits = {
    memoryLimitMb: options.memoryLimitMb ?? DEFAULT_LIMITS.memoryLimitMb,
    wallClockLimitMs: options.wallClockLimitMs ?? DEFAULT_LIMITS.wallClockLimitMs,
    bootTimeoutMs: options.bootTimeoutMs ?? DEFAULT_LIMITS.bootTimeoutMs,
  };
  const root = functionsRoot(ctx.projectDir);
  const workers = new Map<string, FunctionWorker>();

  const workerFor = (spec: FunctionSpec): FunctionWorker => {
    const existing = workers.get(spec.name);
    // A changed config (entrypoint, import map) needs a fresh process; the watcher restarts on file changes.
    if (existing && sameSpec(existing.spec, spec)) return existing;
    if (existing) void existing.close();
    const worker = new FunctionWorker(spec, {
      ...limits,
      env: () => functionEnvironment(ctx, options.env),
      // Shared code, the files config.toml ships with it (`static_files`), and the packages npm installed: what a
      // deployed bundle contains (onnxruntime-web reads its .wasm at run time, for instance).
      readDirs: [join(root, '_shared'), ...spec.staticDirs, join(REPO_ROOT, 'node_modules')].filter((dir) => existsSync(dir)),
      v8Flags: options.v8Flags,
      log: ctx.log,
    });
    workers.set(spec.name, worker);
    return worker;
  };

  const watcher = options.watch ? watchFunctions(root, workers, ctx.log) : undefined;

  return {
    async fetch(request: Request): Promise<Response> {
      const name = new URL(request.url).pathname.split('/')[1] ?? '';
      // Resolved per request, so functions added while `npm run dev` runs are served without a restart.
      const spec = resolveFunction(ctx.projectDir, name, ctx.config.functions);
      if (!spec) return functionNotFound();
      if (spec.verifyJwt && request.method !== 'OPTIONS') {
        const failure = await verifyJwt(ctx, request.headers.get('authorization'));
        if (failure) return failure;
      }
      return workerFor(spec).fetch(request);
    },
    async close(): Promise<void> {
      watcher?.close();
      await Promise.all([...workers.values()].map((worker) => worker.close()));
      workers.clear();
    },
  };
}

function sameSpec(a: FunctionSpec, b: FunctionSpec): boolean {
  return (
    a.entrypoint === b.entrypoint && a.configPath === b.configPath && a.importMapPath === b.importMapPath &&
    a.staticDirs.join() === b.staticDirs.join()
  );
}

/** The CLI's local `verify_jwt` check: a Bearer JWT signed by this stack (any role), with its exact 401 bodies. */
async function verifyJwt(ctx: StackContext, authorization: string | null): Promise<Response | undefined> {
  if (!authorization) return unauthorized('Error: Missing authorization header');
  const [scheme, token] = authorization.split(' ');
  if (scheme !== 'Bearer' || !token) return unauthorized("Error: Auth header is not 'Bearer {token}'");
  try {
    await ctx.jwt.verify(token);
    return undefined;
  } catch {
    return unauthorized('Invalid JWT');
  }
}

/**
 * Restarts functions whose files change: `<name>/…` restarts that function; `_shared/…`, `.env` or an import map
 * at the root restarts all of them. Changes are debounced so an editor's save burst restarts once.
 */
function watchFunctions(root: string, workers: Map<string, FunctionWorker>, log: (line: string) => void): FSWatcher | undefined {
  if (!existsSync(root)) return undefined;
  const pending = new Map<string, NodeJS.Timeout>();
  const schedule = (target: string) => {
    clearTimeout(pending.get(target));
    pending.set(
      target,
      setTimeout(() => {
        pending.delete(target);
        const affected = target === '*' ? [...workers.values()] : [workers.get(target)].filter((w) => w !== undefined);
        for (const worker of affected) {
          log(`[functions] ${target === '*' ? 'shared files' : target} changed; restarting ${worker.spec.name}`);
          void worker.restart();
        }
      }, 150),
    );
  };
  const watcher = watch(root, { recursive: true }, (_event, filename) => {
    if (!filename) return;
    const [first, ...rest] = filename.toString().split(/[\\/]/);
    // A function folder's own files restart it; anything else at the root (shared code, .env, import map) is shared.
    schedule(rest.length > 0 && !first.startsWith('_') ? first : '*');
  });
  watcher.on('error', (error) => log(`[functions] file watcher stopped: ${error.message}`));
  return watcher;
}
