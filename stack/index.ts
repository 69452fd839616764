import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createAdaptorServer } from '@hono/node-server';
import type { JWK } from 'jose';
import { createAuthService } from './auth/index.ts';
import { loadProjectConfig, type ProjectConfig } from './config.ts';
import type { StackContext } from './context.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './db/embedded.ts';
import { bootstrap, migrate, type MigrateResult } from './db/migrate.ts';
import { Db } from './db/pool.ts';
import {
  type ApiKeys,
  DEFAULT_API_PORT,
  DEFAULT_DB_PORT,
  DEFAULT_HOST,
  DEFAULT_WEB_PORT,
  DEFAULT_JWT_SECRET,
  DEFAULT_KEYS,
} from './defaults.ts';
import { createFunctionsService, type FunctionsOptions } from './functions/index.ts';
import { createGateway, type Service, type Services } from './gateway.ts';
import { generateSigningKey, JwtKeys, signingKeyFromJwk, type SigningKey } from './jwt.ts';
import { assertPortFree, lockDataDir } from './lifecycle.ts';
import { startMailServer, type Mailbox } from './mail/index.ts';
import { createRestService } from './rest/index.ts';
import { type Scheduler, startScheduler, upsertStackSecrets } from './scheduler/index.ts';
import { createStorageService } from './storage/index.ts';
import { startWebApp } from './web.ts';

/** Options for {@link createStack}. Defaults match `supabase start`. */
export interface StackOptions {
  /** Directory holding `supabase/`; default the current directory. */
  projectDir?: string;
  /** Keep the database and files in memory / a temp dir and delete them on stop. */
  ephemeral?: boolean;
  /** Persistent state directory; default `<projectDir>/.stack`. */
  dataDir?: string;
  host?: string;
  /** Gateway port; default 54321; 0 picks a free port. */
  apiPort?: number;
  /** Embedded Postgres port; default 54322; 0 picks a free port. */
  dbPort?: number;
  /**
   * Mailbox port (Mailpit's web UI and API); default `[local_smtp] port` from config.toml (54324), or a free port when
   * `apiPort` is 0 (tests, one-off commands); 0 picks a free port.
   */
  mailPort?: number;
  /** Use this Postgres instead of the embedded one (it must allow creating roles). */
  dbUrl?: string;
  /** HS256 secret for API keys and (in HS256 mode) user tokens; default the CLI's. */
  jwtSecret?: string;
  /**
   * How user access tokens are signed: `HS256` with the secret (the CLI default) or `ES256` with a key published
   * in JWKS. Default: ES256/RS256 if `[auth] signing_keys_path` is set in config.toml, else HS256.
   */
  signing?: 'HS256' | 'ES256';
  /** Run `supabase/seed.sql` on a fresh database; default true. */
  seed?: boolean;
  /** Edge Functions runner settings: limits, and `watch` to restart functions on file changes (dev). */
  functions?: FunctionsOptions;
  /**
   * Run pg_cron jobs and send pg_net requests on timers (the stack's own extensions only); default true. With
   * false nothing runs until `stack.scheduler.tick()` is called, for tests that drive time themselves.
   */
  scheduler?: boolean;
  /**
   * Serve the browser app (`web/`) too: through Vite with hot reload (`dev`, what `npm run dev` does) or a finished
   * build (`dist`). Its port defaults to 3000 (`[auth] site_url`), or a free one when `apiPort` is 0.
   */
  web?: { port?: number; mode?: 'dev' | 'dist'; distDir?: string };
  /** What the data directory's lock file says holds it (`dev`, `db reset`, …), for other commands' messages. */
  command?: string;
  log?: (line: string) => void;
}

/** A running lite stack. */
export interface Stack {
  /** Gateway URL, e.g. `http://127.0.0.1:54321` (what supabase-js gets as its URL). */
  apiUrl: string;
  dbUrl: string;
  keys: ApiKeys;
  jwt: JwtKeys;
  config: ProjectConfig;
  db: Db;
  migrations: MigrateResult;
  /** Stands in for the pg_cron and pg_net background workers; `tick()` runs one pass on demand. */
  scheduler: Scheduler;
  /** The mailbox that catches the mail Auth sends (like `supabase start`'s Mailpit); undefined with `[local_smtp] enabled = false`. */
  mailUrl: string | undefined;
  mail: Mailbox | undefined;
  /** The browser app (with the API docs at `/docs/`) when started with `web`. */
  webUrl: string | undefined;
  /** The variables `supabase status -o env` prints, with this stack's values. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

async function loadSigningKey(
  options: StackOptions,
  config: ProjectConfig,
  projectDir: string,
  dataDir: string | undefined,
): Promise<SigningKey | undefined> {
  if (config.auth.signing_keys_path && options.signing !== 'HS256') {
    const path = resolve(projectDir, 'supabase', config.auth.signing_keys_path);
    const keys = JSON.parse(await readFile(path, 'utf8')) as JWK[];
    if (!Array.isArray(keys) || keys.length === 0) throw new Error(`${path}: expected a JSON array of JWKs`);
    return signingKeyFromJwk(keys[0]);
  }
  if (options.signing !== 'ES256') return undefined;
  // No key file configured: keep one generated key per data directory so tokens survive restarts.
  const path = dataDir ? join(dataDir, 'signing_keys.json') : undefined;
  if (path) {
    try {
      const [jwk] = JSON.parse(await readFile(path, 'utf8')) as JWK[];
      return await signingKeyFromJwk(jwk);
    } catch {
      // fall through and create it
    }
  }
  const jwk = await generateSigningKey('ES256');
  if (path) await writeFile(path, JSON.stringify([jwk], null, 2), { mode: 0o600 });
  return signingKeyFromJwk(jwk);
}

async function mintKeys(jwt: JwtKeys): Promise<ApiKeys> {
  if (jwt.secretText === DEFAULT_JWT_SECRET) return DEFAULT_KEYS;
  // Same payload shape as the CLI's keys, signed with the custom secret.
  const mint = (role: string) => jwt.signWithSecret({ iss: 'supabase-demo', role, exp: 1983812996 });
  return { ...DEFAULT_KEYS, anon: await mint('anon'), serviceRole: await mint('service_role') };
}

function listen(server: ReturnType<typeof createAdaptorServer>, port: number, host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Starts the lite stack: Postgres (embedded PGlite unless `dbUrl`), the Supabase bootstrap, pending migrations
 * and the seed, then the gateway with Auth, Data, Storage and Functions behind it, and finally the scheduler that
 * runs pg_cron jobs and sends pg_net requests (after writing the stack's URL and key into Vault).
 */
export async function createStack(options: StackOptions = {}): Promise<Stack> {
  const projectDir = resolve(options.projectDir ?? process.cwd());
  const host = options.host ?? DEFAULT_HOST;
  const log = options.log ?? (() => {});
  const config = await loadProjectConfig(projectDir);
  const dataDir = options.ephemeral ? undefined : resolve(options.dataDir ?? join(projectDir, '.stack'));
  const workDir = dataDir ?? (await mkdtemp(join(tmpdir(), 'edgebrain-stack-')));
  if (dataDir) await mkdir(dataDir, { recursive: true });
  // Before the database is opened: two PGlite instances on one directory corrupt it.
  const lock = dataDir ? await lockDataDir(dataDir, options.command ?? 'stack') : undefined;

  const cleanups: Array<() => Promise<void>> = [];
  if (lock) cleanups.push(() => lock.release());
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    cleanups.length = 0;
  };
  try {
    let embedded: EmbeddedPostgres | undefined;
    let dbUrl = options.dbUrl;
    // Fixed ports are checked before anything starts, so a clash names the port and who holds it.
    const mailPort = options.mailPort ?? (options.apiPort === 0 ? 0 : config.local_smtp.port);
    await assertPortFree(host, options.apiPort ?? DEFAULT_API_PORT, 'api');
    if (!dbUrl) await assertPortFree(host, options.dbPort ?? DEFAULT_DB_PORT, 'db');
    if (config.local_smtp.enabled) await assertPortFree(host, mailPort, 'mail');
    const webPort = options.web ? (options.web.port ?? (options.apiPort === 0 ? 0 : DEFAULT_WEB_PORT)) : undefined;
    if (webPort !== undefined) await assertPortFree(host, webPort, 'web');
    if (!dbUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: dataDir ? join(dataDir, 'db') : undefined,
        host,
        port: options.dbPort ?? DEFAULT_DB_PORT,
      });
      cleanups.push(() => embedded!.stop());
      dbUrl = embedded.url;
    }
    if (!dataDir) cleanups.unshift(() => rm(workDir, { recursive: true, force: true }));

    const db = new Db(dbUrl, { stream: embedded?.connect });
    cleanups.push(() => db.close());
    await bootstrap(db);
    const migrations = await migrate(db, {
      migrationsDir: join(projectDir, 'supabase', 'migrations'),
      seedPath:
        options.seed === false || !config.db.seed.enabled || config.db.seed.sql_paths.length === 0
          ? undefined
          : resolve(projectDir, 'supabase', config.db.seed.sql_paths[0]),
    });
    for (const name of migrations.applied) log(`Applied migration ${name}`);
    if (migrations.seeded) log('Seeded data from supabase/seed.sql');

    const jwt = new JwtKeys(
      options.jwtSecret ?? DEFAULT_JWT_SECRET,
      await loadSigningKey(options, config, projectDir, dataDir),
    );
    const keys = await mintKeys(jwt);

    const mailServer = config.local_smtp.enabled
      ? await startMailServer({ host, port: mailPort, dataDir })
      : undefined;
    if (mailServer) cleanups.push(() => mailServer.close());

    const services: Services = {};
    const gateway = createGateway({ keys, services });
    // The port is taken now (its number goes into the services' config), but requests wait until every service
    // is up and start-up clean-up is done: no window of 404s for routes whose service does not exist yet.
    let markReady!: () => void;
    const ready = new Promise<void>((resolveReady) => (markReady = resolveReady));
    const server = createAdaptorServer({
      fetch: async (request: Request) => {
        await ready;
        return gateway.fetch(request);
      },
      hostname: host,
    });
    // Reads of the Data API skip the Web objects (see Gateway.node) once the stack is ready; the rest goes to `fetch`.
    let started = false;
    void ready.then(() => (started = true));
    const webListener = server.listeners('request')[0] as (req: IncomingMessage, res: ServerResponse) => void;
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!started || !gateway.node(req, res)) webListener(req, res);
    });
    const apiPort = await listen(server, options.apiPort ?? DEFAULT_API_PORT, host);
    cleanups.push(
      () =>
        new Promise<void>((done) => {
          server.close(() => done());
          (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        }),
    );
    const apiUrl = `http://${host}:${apiPort}`;

    const ctx: StackContext = {
      projectDir,
      dataDir,
      workDir,
      config,
      db,
      dbUrl,
      jwt,
      keys,
      apiUrl,
      log,
      functions: options.functions,
    };
    const factories = {
      auth: (c: StackContext) => createAuthService(c, mailServer?.mailbox),
      rest: createRestService,
      storage: createStorageService,
      functions: createFunctionsService,
    } satisfies Record<keyof Services, (ctx: StackContext) => Promise<Service | undefined>>;
    for (const [name, factory] of Object.entries(factories) as Array<[keyof Services, (c: StackContext) => Promise<Service | undefined>]>) {
      const service = await factory(ctx);
      if (!service) continue;
      services[name] = service;
      if (service.close) cleanups.push(() => service.close!());
    }

    // After the services, so that the first requests pg_net sends to this stack find them.
    await upsertStackSecrets(db, { apiUrl, secretKey: keys.secret }, log);
    const scheduler = startScheduler(ctx, { enabled: options.scheduler !== false });
    cleanups.push(() => scheduler.stop());
    const web =
      webPort === undefined
        ? undefined
        : await startWebApp({ port: webPort, host, supabaseUrl: apiUrl, publishableKey: keys.publishable, mode: options.web?.mode, distDir: options.web?.distDir });
    if (web) cleanups.push(() => web.close());
    await lock?.update({ apiUrl, dbUrl });
    markReady();

    return {
      apiUrl,
      dbUrl,
      keys,
      jwt,
      config,
      db,
      migrations,
      scheduler,
      mailUrl: mailServer?.url,
      mail: mailServer?.mailbox,
      webUrl: web?.url,
      env: () => ({
        API_URL: apiUrl,
        REST_URL: `${apiUrl}/rest/v1`,
        GRAPHQL_URL: `${apiUrl}/graphql/v1`,
        FUNCTIONS_URL: `${apiUrl}/functions/v1`,
        DB_URL: dbUrl,
        PUBLISHABLE_KEY: keys.publishable,
        SECRET_KEY: keys.secret,
        JWT_SECRET: jwt.secretText,
        ANON_KEY: keys.anon,
        SERVICE_ROLE_KEY: keys.serviceRole,
      }),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

export { DEFAULT_API_PORT, DEFAULT_DB_PORT };
