import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockDataDir, StackLifecycleError } from '../../stack/lifecycle.ts';

const started = new Set<ChildProcess>();
// A failed assertion must not leave a stack running.
afterEach(async () => {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
  started.clear();
});

/** `npm run <script> -- …args` as a user runs it, in the repo, with output captured. */
function npmRun(script: string, args: string[]): ChildProcess & { out: () => string; err: () => string } {
  const child = spawn('npm', ['run', '--silent', script, '--', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  started.add(child);
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  return Object.assign(child, { out: () => stdout, err: () => stderr });
}

async function finished(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const [code] = await once(child, 'exit');
  return code as number | null;
}

/** Starts `npm run dev` and waits for the env lines it prints once the stack is up. */
async function startDev(args: string[]) {
  const child = npmRun('dev', args);
  await new Promise<void>((resolve, reject) => {
    const onData = () => child.out().includes('SERVICE_ROLE_KEY=') && resolve();
    child.stdout!.on('data', onData);
    child.once('exit', () => reject(new Error(`npm run dev exited early:\n${child.err()}`)));
  });
  const env = Object.fromEntries([...child.out().matchAll(/^([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
  return { child, apiUrl: env.API_URL, apiPort: Number(new URL(env.API_URL).port), dbPort: Number(new URL(env.DB_URL).port) };
}

/** Every process below `pid` (Linux /proc), so a test can prove none is left. */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      found.push(c);
      walk(c);
    }
  };
  walk(pid);
  return found;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean | Promise<boolean>, everyMs = 100): Promise<void> {
  for (let i = 0; i < 30_000 / everyMs; i += 1) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('condition not met');
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

const linux = existsSync('/proc/self/stat');

describe.runIf(linux)('npm run dev lifecycle', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'edgebrain-lifecycle-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses db:reset, db:migrate and a second dev on a data directory a running stack holds, then stops on SIGTERM leaving no process and free ports', async () => {
    const dev = await startDev(['--data-dir', dataDir, '--port', '0', '--db-port', '0']);
    // A function call cold-starts a Deno process, so the stop below must also end it.
    const health = await fetch(`${dev.apiUrl}/functions/v1/movies/healthz`);
    expect(health.status).toBe(200);
    const holder = JSON.parse(await readFile(join(dataDir, 'stack.pid'), 'utf8'));
    expect(holder).toMatchObject({ command: 'dev', apiUrl: dev.apiUrl });
    const tree = descendants(dev.child.pid!);
    expect(tree).toContain(holder.pid);
    expect(tree.length).toBeGreaterThanOrEqual(2); // the stack's node and the function's deno

    const reset = npmRun('db:reset', ['--data-dir', dataDir]);
    expect(await finished(reset)).toBe(1);
    expect(reset.err()).toContain(`A lite stack is already running on data directory ${dataDir} (pid ${holder.pid}, API ${dev.apiUrl}`);
    expect(reset.err()).toContain(`kill ${holder.pid}`);
    expect(existsSync(join(dataDir, 'db'))).toBe(true);

    const migrate = npmRun('db:migrate', ['--data-dir', dataDir]);
    expect(await finished(migrate)).toBe(1);
    expect(migrate.err()).toContain(`A lite stack is already running on data directory ${dataDir} (pid ${holder.pid}`);

    const second = npmRun('dev', ['--data-dir', dataDir, '--port', '0', '--db-port', '0']);
    expect(await finished(second)).toBe(1);
    expect(second.err()).toContain(`A lite stack is already running on data directory ${dataDir} (pid ${holder.pid}`);
    expect(second.err()).not.toContain('EADDRINUSE');

    // The running stack was not disturbed.
    expect((await fetch(`${dev.apiUrl}/rest/v1/plans?select=id`, { headers: { apikey: 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH' } })).status).toBe(200);

    dev.child.kill('SIGTERM');
    expect(await finished(dev.child)).toBe(0);
    expect(dev.child.err()).toContain('SIGTERM: stopping');
    for (const pid of tree) expect(alive(pid), `process ${pid} left running`).toBe(false);
    expect(await portOpen(dev.apiPort)).toBe(false);
    expect(await portOpen(dev.dbPort)).toBe(false);
    expect(existsSync(join(dataDir, 'stack.pid'))).toBe(false);

    // And the directory is usable again.
    const again = npmRun('db:migrate', ['--data-dir', dataDir]);
    expect(await finished(again)).toBe(0);
    expect(again.err()).toContain('No pending migrations.');
  });

  it('stops on SIGHUP to npm (which npm does not forward), leaving no process', async () => {
    const dev = await startDev(['--ephemeral', '--port', '0', '--db-port', '0']);
    expect((await fetch(`${dev.apiUrl}/functions/v1/movies/healthz`)).status).toBe(200);
    const tree = descendants(dev.child.pid!);
    expect(tree.length).toBeGreaterThanOrEqual(2);
    dev.child.kill('SIGHUP');
    await finished(dev.child);
    await waitUntil(() => tree.every((pid) => !alive(pid)));
    expect(await portOpen(dev.apiPort)).toBe(false);
    expect(await portOpen(dev.dbPort)).toBe(false);
  });

  it('stops on SIGHUP sent to the stack process itself', async () => {
    const dev = await startDev(['--ephemeral', '--port', '0', '--db-port', '0']);
    const [stackPid] = descendants(dev.child.pid!);
    process.kill(stackPid, 'SIGHUP');
    expect(await finished(dev.child)).toBe(0);
    expect(dev.child.err()).toContain('SIGHUP: stopping');
    expect(alive(stackPid)).toBe(false);
    expect(await portOpen(dev.apiPort)).toBe(false);
  });

  it('says a stack is already running on a port, or that another program holds it, instead of EADDRINUSE', async () => {
    const apiPort = await freePort();
    const dev = await startDev(['--ephemeral', '--port', String(apiPort), '--db-port', '0', '--mail-port', '0', '--web-port', '0']);
    try {
      const second = npmRun('dev', ['--ephemeral', '--port', String(apiPort), '--db-port', '0', '--mail-port', '0', '--web-port', '0']);
      expect(await finished(second)).toBe(1);
      expect(second.err().trim()).toBe(
        `A lite stack is already running at http://127.0.0.1:${apiPort}. Use it, stop it, or start this one on other ports (--port, --db-port, --mail-port and --web-port).`,
      );

      const other: Server = createServer();
      await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
      const taken = (other.address() as { port: number }).port;
      try {
        const clash = npmRun('dev', ['--ephemeral', '--port', '0', '--db-port', String(taken)]);
        expect(await finished(clash)).toBe(1);
        expect(clash.err().trim()).toBe(
          `Port ${taken} on 127.0.0.1 (Postgres) is already in use by another program. Stop it or choose another port with --db-port.`,
        );
        const mailClash = npmRun('dev', ['--ephemeral', '--port', '0', '--db-port', '0', '--mail-port', String(taken)]);
        expect(await finished(mailClash)).toBe(1);
        expect(mailClash.err().trim()).toBe(
          `Port ${taken} on 127.0.0.1 (the mailbox) is already in use by another program. Stop it or choose another port with --mail-port.`,
        );
        const webClash = npmRun('dev', ['--ephemeral', '--port', '0', '--db-port', '0', '--mail-port', '0', '--web-port', String(taken)]);
        expect(await finished(webClash)).toBe(1);
        expect(webClash.err().trim()).toBe(
          `Port ${taken} on 127.0.0.1 (the browser app) is already in use by another program. Stop it or choose another port with --web-port (or --no-web).`,
        );
      } finally {
        other.close();
      }
    } finally {
      dev.child.kill('SIGTERM');
      await finished(dev.child);
    }
  });

  it('answers nothing until every service is up: the first answer on the port is Auth health, never a 404', async () => {
    const apiPort = await freePort();
    const child = npmRun('dev', ['--ephemeral', '--port', String(apiPort), '--db-port', '0', '--mail-port', '0', '--web-port', '0']);
    try {
      let first: { status: number; body: unknown } | undefined;
      await waitUntil(async () => {
        try {
          const res = await fetch(`http://127.0.0.1:${apiPort}/auth/v1/health`, {
            headers: { apikey: 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH' },
          });
          first = { status: res.status, body: await res.json() };
          return true;
        } catch {
          return child.exitCode !== null;
        }
      }, 10); // poll fast: a window of early answers must not slip between two polls
      expect(first?.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await finished(child);
    }
  });
});

describe('npm run dev -- --help', () => {
  it('names the program as run and lists exactly the options the README documents', async () => {
    const help = npmRun('dev', ['--help']);
    expect(await finished(help)).toBe(0);
    expect(help.out()).toMatch(/^usage: npm run dev -- \[options\]\n/);
    const helpOptions = [...help.out().matchAll(/^ {2}(--[a-z-]+)/gm)].map((m) => m[1]).filter((o) => o !== '--help');
    const readme = await readFile('README.md', 'utf8');
    const documented = [...new Set([...readme.matchAll(/`npm run dev -- (--[a-z-]+)/g)].map((m) => m[1]))].filter((o) => o !== '--help');
    expect(helpOptions.sort()).toEqual(documented.sort());
  });
});

describe('data directory lock (stack/lifecycle.ts)', () => {
  it('takes over a lock left by a process that died, and refuses one held by a live process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'edgebrain-lock-'));
    try {
      const dead = spawn(process.execPath, ['-e', '0']);
      await once(dead, 'exit');
      const lockPath = join(dir, 'stack.pid');
      await writeFile(lockPath, JSON.stringify({ pid: dead.pid, command: 'dev', startedAt: '2026-01-01T00:00:00.000Z' }));
      const lock = await lockDataDir(dir, 'db migrate');
      expect(JSON.parse(await readFile(lockPath, 'utf8'))).toMatchObject({ pid: process.pid, command: 'db migrate' });

      const error = await lockDataDir(dir, 'dev').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StackLifecycleError);
      expect(error).toMatchObject({ code: 'data_dir_in_use' });
      expect((error as Error).message).toMatch(new RegExp(`^\`db migrate\` is running on data directory .* \\(pid ${process.pid}, since `));

      await lock.release();
      expect(existsSync(lockPath)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
