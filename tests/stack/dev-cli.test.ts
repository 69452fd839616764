import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');

describe('npm run dev (stack/cli.ts)', () => {
  it('prints the supabase status env, serves the gateway, and exits 0 on Ctrl-C', async () => {
    const child = spawn(TSX, ['stack/cli.ts', '--ephemeral', '--port', '0', '--db-port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const ready = new Promise<void>((resolve) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('SERVICE_ROLE_KEY=')) resolve();
      });
    });
    await Promise.race([ready, once(child, 'exit').then(() => Promise.reject(new Error(`exited early: ${stderr}`)))]);

    const env = Object.fromEntries(
      stdout
        .trim()
        .split('\n')
        .map((line) => /^([A-Z_]+)="(.*)"$/.exec(line)!)
        .map((m) => [m[1], m[2]]),
    );
    expect(Object.keys(env)).toEqual([
      'API_URL', 'REST_URL', 'GRAPHQL_URL', 'FUNCTIONS_URL', 'DB_URL',
      'PUBLISHABLE_KEY', 'SECRET_KEY', 'JWT_SECRET', 'ANON_KEY', 'SERVICE_ROLE_KEY',
    ]);
    expect(env.PUBLISHABLE_KEY).toBe('sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH');
    expect(env.SECRET_KEY).toBe('sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz');
    expect(env.JWT_SECRET).toBe('super-secret-jwt-token-with-at-least-32-characters-long');
    expect(env.DB_URL).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);

    const res = await fetch(`${env.API_URL}/health`);
    expect(await res.json()).toMatchObject({ status: 'ok' });

    // The browser app, through Vite, with this stack's address and publishable key written into the page.
    for (let i = 0; i < 100 && !stderr.includes('API docs:'); i++) await new Promise((r) => setTimeout(r, 50));
    const app = /App: (http:\/\/127\.0\.0\.1:\d+) {3}API docs: \1\/docs\//.exec(stderr);
    expect(app, stderr).not.toBeNull();
    const page = await fetch(`${app![1]}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain(`window.__EDGEBRAIN__ = {"supabaseUrl":"${env.API_URL}","publishableKey":"${env.PUBLISHABLE_KEY}"}`);
    expect(html).toContain('/@vite/client');
    expect((await fetch(`${app![1]}/docs`, { redirect: 'manual' })).headers.get('location')).toBe('/docs/');

    child.kill('SIGINT');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(stderr).toContain('SIGINT: stopping');
  });
});
