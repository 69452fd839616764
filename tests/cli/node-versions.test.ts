import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { uniqueEmail } from '../helpers/stack.ts';

const run = promisify(execFile);

/**
 * The supported Node versions are 22 and 24. `npm test` itself runs on Node 24 (the `node` devDependency puts it
 * first on the PATH of npm scripts); Node 22 comes from the optional `node-22` package (Linux x64 only) and this
 * file proves the stack and the CLI start and work on it.
 */
const NODE_22 = join(process.cwd(), 'node_modules', 'node-22', 'bin', 'node');

describe('supported Node versions', () => {
  it('runs the test suite on Node 24 (the node devDependency)', () => {
    expect(process.versions.node.split('.')[0], 'node_modules/.bin/node is not Node 24: run `npm rebuild node`').toBe('24');
  });

  it.runIf(existsSync(NODE_22))('starts the lite stack and runs the admin CLI on Node 22', async () => {
    expect((await run(NODE_22, ['-p', 'process.versions.node'])).stdout).toMatch(/^22\./);
    const dev = spawn(NODE_22, ['--import', 'tsx', 'stack/cli.ts', '--ephemeral', '--port', '0', '--db-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    dev.stderr.on('data', (d) => (stderr += d));
    try {
      await new Promise<void>((resolve, reject) => {
        dev.stdout.on('data', (d) => {
          stdout += d;
          if (stdout.includes('SERVICE_ROLE_KEY=')) resolve();
        });
        dev.once('exit', () => reject(new Error(`stack exited on Node 22:\n${stderr}`)));
      });
      const env = Object.fromEntries([...stdout.matchAll(/^([A-Z_]+)="(.*)"$/gm)].map((m) => [m[1], m[2]]));
      const cliEnv = {
        ...process.env,
        EDGEBRAIN_ENV: 'dev',
        EDGEBRAIN_SUPABASE_URL: env.API_URL,
        EDGEBRAIN_SECRET_KEY: env.SECRET_KEY,
        EDGEBRAIN_PUBLISHABLE_KEY: env.PUBLISHABLE_KEY,
      };
      const email = uniqueEmail('node22');
      const created = await run(NODE_22, ['cli/edgebrain.mjs', '--json', 'create-user', '--name', 'N', '--email', email, '--password', 'node-22-password'], { env: cliEnv });
      expect(JSON.parse(created.stdout)).toMatchObject({ email, name: 'N' });
      const token = await run(NODE_22, ['cli/edgebrain.mjs', 'token', '--email', email, '--password', 'node-22-password'], { env: cliEnv });
      const res = await fetch(`${env.API_URL}/functions/v1/movies?movie_id=1`, { headers: { authorization: `Bearer ${token.stdout.trim()}` } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ movie_id: 1, title: 'The Shawshank Redemption' });
    } finally {
      dev.kill('SIGTERM');
      if (dev.exitCode === null) await once(dev, 'exit');
    }
    expect(dev.exitCode).toBe(0);
  });
});
