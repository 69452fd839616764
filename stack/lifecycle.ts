import { readFileSync, unlinkSync } from 'node:fs';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** The file a running stack keeps in its data directory, so other commands know the directory is in use. */
export const LOCK_FILE = 'stack.pid';

/** What {@link LOCK_FILE} records about the process that holds a data directory. */
export interface DataDirHolder {
  pid: number;
  /** What the holder is doing: `dev`, `db reset`, `db migrate`, or `stack` for programmatic use. */
  command: string;
  apiUrl?: string;
  dbUrl?: string;
  startedAt: string;
}

/** Why a stack could not start, or a command refused to run; `code` is stable, the message says what to do. */
export class StackLifecycleError extends Error {
  constructor(
    readonly code: 'data_dir_in_use' | 'stack_already_running' | 'port_in_use',
    message: string,
  ) {
    super(message);
    this.name = 'StackLifecycleError';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A pid left behind by a crash may have been reused by an unrelated program; a stack always runs in Node.
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // no /proc (macOS): trust the pid
  }
}

/** The live process holding `dataDir`, if any (a lock file left by a crashed process is ignored). */
export async function dataDirHolder(dataDir: string): Promise<DataDirHolder | undefined> {
  let holder: DataDirHolder;
  try {
    holder = JSON.parse(await readFile(join(dataDir, LOCK_FILE), 'utf8')) as DataDirHolder;
  } catch {
    return undefined;
  }
  return Number.isInteger(holder.pid) && isAlive(holder.pid) ? holder : undefined;
}

/** A sentence naming who holds a data directory and how to stop it. */
export function describeHolder(dataDir: string, holder: DataDirHolder): string {
  const where = [holder.apiUrl && `API ${holder.apiUrl}`, holder.dbUrl && `database ${holder.dbUrl}`].filter(Boolean);
  const what = holder.command === 'dev' ? 'A lite stack is already running' : `\`${holder.command}\` is running`;
  return (
    `${what} on data directory ${dataDir} (pid ${holder.pid}${where.length ? `, ${where.join(', ')}` : ''}, ` +
    `since ${holder.startedAt}). Stop it first (Ctrl-C in its terminal, or \`kill ${holder.pid}\`).`
  );
}

/** Throws {@link StackLifecycleError} `data_dir_in_use` when a live process holds `dataDir`. */
export async function assertDataDirFree(dataDir: string): Promise<void> {
  const holder = await dataDirHolder(dataDir);
  if (holder) throw new StackLifecycleError('data_dir_in_use', describeHolder(dataDir, holder));
}

/** A held data directory: {@link DataDirLock.update} records the stack's URLs, `release` removes the lock file. */
export interface DataDirLock {
  update(fields: Partial<Pick<DataDirHolder, 'apiUrl' | 'dbUrl'>>): Promise<void>;
  release(): Promise<void>;
}

/**
 * Takes `dataDir` for this process by creating {@link LOCK_FILE} exclusively. A lock whose process is gone is
 * replaced; a live one makes this throw `data_dir_in_use` naming the holder. Two PGlite instances on one
 * directory corrupt it, so every command that opens the embedded database takes the lock first.
 */
export async function lockDataDir(dataDir: string, command: string): Promise<DataDirLock> {
  const path = join(dataDir, LOCK_FILE);
  const record: DataDirHolder = { pid: process.pid, command, startedAt: new Date().toISOString() };
  for (let attempt = 0; ; attempt += 1) {
    try {
      await writeFile(path, JSON.stringify(record), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      await assertDataDirFree(dataDir);
      await unlink(path).catch(() => {});
    }
  }
  // A process that exits without stopping the stack (an uncaught error) still frees the directory.
  const onExit = () => {
    try {
      if ((JSON.parse(readFileSync(path, 'utf8')) as DataDirHolder).pid === process.pid) unlinkSync(path);
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return {
    async update(fields) {
      Object.assign(record, fields);
      await writeFile(path, JSON.stringify(record));
    },
    async release() {
      process.off('exit', onExit);
      onExit();
    },
  };
}

async function liteStackAt(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { status?: unknown; services?: unknown };
    return body.status === 'ok' && Array.isArray(body.services);
  } catch {
    return false;
  }
}

function portTaken(host: string, port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => resolvePort(error.code === 'EADDRINUSE'));
    probe.listen(port, host, () => probe.close(() => resolvePort(false)));
  });
}

/**
 * Checks before anything starts that a fixed port is free, so a clash is reported as such: another lite stack
 * (its `/health` answers like ours) or some other program. Port 0 (pick a free one) is never checked.
 */
export async function assertPortFree(host: string, port: number, what: 'api' | 'db' | 'mail' | 'web'): Promise<void> {
  if (port === 0 || !(await portTaken(host, port))) return;
  const flag = { api: '--port', db: '--db-port', mail: '--mail-port', web: '--web-port (or --no-web)' }[what];
  const label = { api: 'the API gateway', db: 'Postgres', mail: 'the mailbox', web: 'the browser app' }[what];
  if (what === 'api' && (await liteStackAt(`http://${host}:${port}`))) {
    throw new StackLifecycleError(
      'stack_already_running',
      `A lite stack is already running at http://${host}:${port}. Use it, stop it, or start this one on other ports ` +
        `(--port, --db-port, --mail-port and --web-port).`,
    );
  }
  throw new StackLifecycleError(
    'port_in_use',
    `Port ${port} on ${host} (${label}) is already in use by another ` +
      `program. Stop it or choose another port with ${flag}.`,
  );
}
