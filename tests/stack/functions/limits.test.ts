import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadProjectConfig } from '../../../stack/config.ts';
import type { StackContext } from '../../../stack/context.ts';
import { DEFAULT_JWT_SECRET, DEFAULT_KEYS } from '../../../stack/defaults.ts';
import { createFunctionsService, type FunctionsOptions } from '../../../stack/functions/index.ts';
import type { Service } from '../../../stack/gateway.ts';
import { JwtKeys } from '../../../stack/jwt.ts';

const fixtureDir = join(import.meta.dirname, '..', '..', 'fixtures', 'functions-project');

// The runner alone (no gateway, no database): these tests need only Deno and the fixture functions.
async function runner(options: FunctionsOptions, projectDir = fixtureDir): Promise<Service> {
  const ctx: StackContext = {
    projectDir,
    dataDir: undefined,
    workDir: tmpdir(),
    config: await loadProjectConfig(projectDir),
    db: undefined as never,
    dbUrl: 'postgresql://postgres:postgres@127.0.0.1:1/postgres',
    jwt: new JwtKeys(DEFAULT_JWT_SECRET),
    keys: DEFAULT_KEYS,
    apiUrl: 'http://127.0.0.1:1',
    log: () => {},
  };
  const service = await createFunctionsService(ctx, options);
  if (!service) throw new Error('no functions service');
  return service;
}

const services: Service[] = [];
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((service) => service.close?.()));
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function start(options: FunctionsOptions, projectDir?: string): Promise<Service> {
  const service = await runner(options, projectDir);
  services.push(service);
  return service;
}

const get = (service: Service, path: string) => service.fetch(new Request(`http://functions.local${path}`));

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('functions runner: limits', () => {
  it('returns 546 WORKER_LIMIT when a request outlives the wall-clock limit, then serves the next request', async () => {
    const service = await start({ wallClockLimitMs: 500 });
    const response = await get(service, '/slow');
    expect(response.status).toBe(546);
    expect(await response.json()).toEqual({
      code: 'WORKER_LIMIT',
      message: 'Worker failed to respond due to a resource limit (please check logs)',
    });
    const next = await get(service, '/slow/ping');
    expect({ status: next.status, body: await next.json() }).toEqual({ status: 200, body: { function: 'slow', pong: true } });
  });

  it('returns 546 WORKER_LIMIT when the function exhausts its memory limit', async () => {
    const service = await start({ memoryLimitMb: 64 });
    const response = await get(service, '/hog');
    expect(response.status).toBe(546);
    expect(await response.json()).toEqual({
      code: 'WORKER_LIMIT',
      message: 'Worker failed to respond due to a resource limit (please check logs)',
    });
  });
});

describe('functions runner: lifecycle', () => {
  it('kills every function process on close', async () => {
    const service = await runner({});
    const { pid } = await (await get(service, '/crash/pid')).json();
    expect(isAlive(pid)).toBe(true);
    await service.close!();
    expect(isAlive(pid)).toBe(false);
  });

  it('restarts a function when a file in its folder changes (watch mode)', async () => {
    const projectDir = await mkdtemp(join(tmpdir(), 'edgebrain-functions-'));
    cleanups.push(() => rm(projectDir, { recursive: true, force: true }));
    await cp(join(fixtureDir, 'supabase', 'config.toml'), join(projectDir, 'supabase', 'config.toml'), { recursive: true });
    await cp(join(fixtureDir, 'supabase', 'functions', 'crash'), join(projectDir, 'supabase', 'functions', 'crash'), {
      recursive: true,
    });
    const service = await start({ watch: true }, projectDir);
    const { pid: firstPid } = await (await get(service, '/crash/pid')).json();

    await writeFile(join(projectDir, 'supabase', 'functions', 'crash', 'extra.ts'), 'export const touched = true;\n');
    // The restart happens asynchronously; poll until a new process answers (bounded by the test timeout).
    let pid = firstPid;
    while (pid === firstPid) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      pid = (await (await get(service, '/crash/pid')).json()).pid;
    }
    expect(isAlive(firstPid)).toBe(false);
  });
});
