import type { StackContext } from '../context.ts';
import type { TxClient } from '../db/pool.ts';
import { type ForwardedRequest, type PlainResponse, toResponse } from '../gateway.ts';
import { identify, JwtError, type RequestIdentity, RoleSettings, runAsRequestBatched } from '../db/request-role.ts';
import { errorResponse, jwtError, RestError, tableNotFound, toRestError } from './errors.ts';
import { parseQuery, type QueryParams, usesAggregates } from './grammar.ts';
import { negotiateMedia, negotiateSchema, parsePreferences, parseRangeHeader, intersectRanges, type Media, type Preferences } from './negotiate.ts';
import { executeMutation, executeRead, executeRpc, type Execution } from './execute.ts';
import { rootDocument } from './openapi.ts';
import { loadSchemaCache, qualifiedKey, type SchemaCache } from './schema-cache.ts';
import { SchemaWatch, SESSION_MARK_EXPR, SESSION_MARK_SQL, VERSION_EXPR, VERSION_SQL } from './schema-watch.ts';
import { ident } from './sql.ts';
import { resolveRoutine } from './rpc.ts';
import { ServerTiming } from './timing.ts';

/** Thrown inside the transaction to roll it back while still answering with a response (`Prefer: tx=rollback`). */
export class RollbackWith extends Error {
  constructor(readonly response: PlainResponse) {
    super('rollback');
  }
}

/** The DDL counter moved since the schema cache was loaded: the request was planned on a stale cache. */
class StaleSchema extends Error {}

/** The DDL counter is gone (e.g. dropped by a database reset): its read fails naming it. */
function counterMissing(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === '42P01' && typeof e.message === 'string' && e.message.includes('lite_rest_schema_version');
}

type Target = { kind: 'root' } | { kind: 'table'; name: string } | { kind: 'rpc'; name: string };

function route(pathname: string, method: string): Target {
  const parts = pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  if (parts.length === 0) return { kind: 'root' };
  if (parts[0] === 'rpc' && parts.length === 2) {
    if (!['GET', 'HEAD', 'POST'].includes(method)) {
      throw new RestError(405, 'PGRST101', `Cannot use the ${method} method on RPC`);
    }
    return { kind: 'rpc', name: parts[1] };
  }
  if (parts.length !== 1) throw new RestError(404, 'PGRST125', 'Invalid path specified in request URL');
  if (!['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'].includes(method)) {
    throw new RestError(405, 'PGRST117', `Unsupported HTTP method: ${method}`);
  }
  return { kind: 'table', name: parts[0] };
}

function jwtFailure(error: JwtError): RestError {
  const messages: Record<string, string> = {
    unknown_kid: 'No suitable key or wrong key type',
    unsupported_alg: 'Wrong or unsupported encoding algorithm',
    bad_signature: 'JWT cryptographic operation failed',
    expired: 'JWT expired',
    not_yet_valid: 'JWT not yet valid',
  };
  return jwtError(error.reason, messages[error.reason] ?? error.message);
}

/** The parsed body and its text: SQL receives the text, so numbers keep every digit (bigint, numeric). */
async function readJsonBody(request: ForwardedRequest): Promise<{ body: unknown; bodyText: string | undefined }> {
  const text = await request.text();
  if (text.trim() === '') return { body: undefined, bodyText: undefined };
  try {
    return { body: JSON.parse(text), bodyText: text };
  } catch {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  }
}

/** Everything about a request that is known before the transaction opens. */
export interface RequestPlan {
  target: Target;
  method: string;
  schema: string;
  byProfile: boolean;
  media: Media;
  prefs: Preferences;
  query: QueryParams;
  range: { offset: number; limit?: number };
  body: unknown;
  /** The body as sent (see {@link readJsonBody}). */
  bodyText: string | undefined;
  identity: RequestIdentity;
  maxRows: number;
}

/** The Data API service: request parsing, the schema cache, and one transaction per request. */
export class RestApi {
  private cache: SchemaCache | undefined;
  private version: string | null = null;
  private reloading: Promise<SchemaCache> | undefined;
  private readonly settings: RoleSettings;
  private readonly watch: SchemaWatch;

  /** `serverTiming` adds a `Server-Timing` header to every response, as PostgREST's `server-timing-enabled` does. */
  constructor(
    private readonly ctx: StackContext,
    private readonly options: { serverTiming?: boolean } = {},
  ) {
    this.settings = new RoleSettings(ctx.db);
    this.watch = new SchemaWatch(ctx.db, ctx.log);
  }

  async start(): Promise<void> {
    await this.watch.start();
    await this.reload();
  }

  async close(): Promise<void> {
    await this.watch.stop();
  }

  /** Loads the schema cache and the DDL counter it corresponds to (concurrent callers share one load). */
  private reload(): Promise<SchemaCache> {
    this.reloading ??= (async () => {
      try {
        this.watch.notified = false;
        const { cache, version } = await this.ctx.db.tx(async (client) => ({
          version: await this.readVersion(client),
          cache: await loadSchemaCache(client, this.ctx.config.api.schemas, this.ctx.config.api.extra_search_path),
        }));
        this.cache = cache;
        this.version = version;
        this.settings.reload();
        return cache;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /**
   * PostgREST's `db-aggregates-enabled`, which Supabase projects set with
   * `alter role authenticator set pgrst.db_aggregates_enabled = 'true'` and apply with `NOTIFY pgrst, 'reload config'`.
   * PGlite delivers no NOTIFY and `ALTER ROLE` fires no event trigger, so a request that uses an aggregate (`fresh`)
   * re-reads the role settings first — one query, only for such requests — and a change applies from the next one.
   */
  private async aggregatesEnabled(fresh: boolean): Promise<boolean> {
    if (fresh) this.settings.reload();
    const setting = (await this.settings.for('authenticator')).find(([name]) => name === 'pgrst.db_aggregates_enabled');
    return setting !== undefined && /^(true|on|yes|1)$/i.test(setting[1].trim());
  }

  /** What a request compares with its probe: the session mark on PGlite, else the DDL counter; null without triggers. */
  private async readVersion(client: Pick<TxClient, 'query'>): Promise<string | null> {
    if (!this.watch.enabled) return null;
    const sql = this.watch.sharedSession ? SESSION_MARK_SQL : VERSION_SQL;
    const { rows } = await client.query<{ mark?: string; version?: string }>(sql);
    return (this.watch.sharedSession ? rows[0]?.mark : rows[0]?.version) ?? null;
  }

  /** The probe each request's first statement carries (see {@link readVersion}). */
  private probe(): string | undefined {
    if (!this.watch.enabled) return undefined;
    return this.watch.sharedSession ? SESSION_MARK_EXPR : VERSION_EXPR;
  }

  /** True when the schema changed since the cache was loaded (reinstalling the counter when it has disappeared). */
  private async schemaMoved(): Promise<boolean> {
    if (!this.watch.enabled) return this.watch.notified;
    try {
      const version = await this.ctx.db.tx(async (client) => {
        // The counter is read even on PGlite: its absence means the triggers are gone too.
        await client.query(VERSION_SQL);
        return this.readVersion(client);
      });
      return this.watch.notified || version !== this.version;
    } catch (error) {
      if (!counterMissing(error)) throw error;
      await this.watch.install();
      return true;
    }
  }

  /** Answers a Web request addressed to the Data API itself (`/<table>`, `/rpc/<fn>`, without `/rest/v1`). */
  handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    return this.forward({
      method: request.method,
      pathname: url.pathname,
      searchParams: url.searchParams,
      headers: request.headers,
      text: () => request.text(),
    });
  }

  /** Answers a request as the gateway passes it on (see {@link ForwardedRequest}). */
  async forward(request: ForwardedRequest): Promise<Response> {
    return toResponse(await this.plain(request));
  }

  /** {@link forward}'s answer as plain data (see the gateway's `Service.plain`). */
  async plain(request: ForwardedRequest): Promise<PlainResponse> {
    const timing = this.options.serverTiming ? new ServerTiming() : undefined;
    const response = await this.answer(request, timing);
    if (timing) response.headers['server-timing'] = timing.header();
    return response;
  }

  private async answer(request: ForwardedRequest, timing: ServerTiming | undefined): Promise<PlainResponse> {
    const method = request.method.toUpperCase();
    let authed = false;
    try {
      const start = performance.now();
      const plan = await this.prepare(request, method, timing);
      timing?.add('parse', performance.now() - start - timing.get('jwt'));
      authed = plan.identity.role !== 'anon';
      const running = performance.now();
      const response = await this.run(request, plan, timing);
      timing?.add('plan', performance.now() - running - timing.get('transaction'));
      return response;
    } catch (error) {
      if (error instanceof RollbackWith) return error.response;
      const rest = toRestError(error, authed);
      if (rest) return errorResponse(rest, method);
      const code = (error as { code?: unknown })?.code;
      if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
        // The database is unreachable (ECONNREFUSED, ECONNRESET, …): PostgREST's connection error.
        return errorResponse(new RestError(503, 'PGRST000', 'Database connection error. Retrying the connection.', code), method);
      }
      this.ctx.log(`Data API: unexpected error: ${(error as Error)?.stack ?? String(error)}`);
      return errorResponse(new RestError(500, 'PGRSTX00', 'Internal server error'), method);
    }
  }

  private async prepare(request: ForwardedRequest, method: string, timing: ServerTiming | undefined): Promise<RequestPlan> {
    const target = route(request.pathname, method);
    const { schema, byProfile } = negotiateSchema(method, request.headers, this.ctx.config.api.schemas);
    const media = negotiateMedia(request.headers.get('accept'));
    let identity: RequestIdentity;
    try {
      const authorization = request.headers.get('authorization');
      identity = timing
        ? await timing.time('jwt', () => identify(this.ctx.jwt, authorization))
        : await identify(this.ctx.jwt, authorization);
    } catch (error) {
      if (error instanceof JwtError) throw jwtFailure(error);
      throw error;
    }
    const prefs = parsePreferences(request.headers);
    const isRead = method === 'GET' || method === 'HEAD';
    const query = parseQuery(request.searchParams, target.kind === 'rpc' && isRead);
    const range = intersectRanges(isRead ? parseRangeHeader(request.headers) : undefined, query.ranges.get(''));
    const { body, bodyText } = method === 'POST' || method === 'PATCH' ? await readJsonBody(request) : { body: undefined, bodyText: undefined };
    return { target, method, schema, byProfile, media, prefs, query, range, body, bodyText, identity, maxRows: this.ctx.config.api.max_rows };
  }

  private readOnly(plan: RequestPlan): boolean {
    if (plan.method === 'GET' || plan.method === 'HEAD') return true;
    if (plan.target.kind !== 'rpc' || !this.cache) return false;
    try {
      const routine = resolveRoutine(this.cache, plan.schema, plan.target.name, { kind: 'json', body: plan.body });
      return routine.volatility !== 'volatile';
    } catch {
      return false;
    }
  }

  /**
   * Runs the request in its transaction, planned on the cached schema. The DDL counter is read in the same round trip
   * as the first statement; if it moved, or the request failed, and the schema has changed since the cache was
   * loaded, the cache is reloaded and the request runs once more (its first attempt was rolled back).
   */
  private async run(request: ForwardedRequest, plan: RequestPlan, timing: ServerTiming | undefined, retried = false): Promise<PlainResponse> {
    const searchPath = [plan.schema, ...this.ctx.config.api.extra_search_path.filter((s) => s !== plan.schema)].map(ident).join(', ');
    const authed = plan.identity.role !== 'anon';
    const cache = this.cache && !this.watch.notified ? this.cache : await this.reload();
    const version = this.version;
    const aggregates = await this.aggregatesEnabled(usesAggregates(plan.query.select));
    try {
      return await runAsRequestBatched(
        this.ctx.db,
        this.settings,
        plan.identity,
        { method: plan.method, path: request.pathname, headers: request.headers },
        {
          readOnly: this.readOnly(plan),
          searchPath,
          extraSettings: plan.prefs.timezone ? [['timezone', plan.prefs.timezone]] : [],
          probe: retried ? undefined : this.probe(),
          afterFirst: (probe) => {
            if (probe !== undefined && (probe ?? null) !== version) throw new StaleSchema();
          },
        },
        async (tx) => {
          const exec: Execution = { tx: timing ? timing.wrap(tx) : tx, cache, plan, authed, aggregates };
          let response: PlainResponse;
          if (plan.target.kind === 'root') {
            response = rootDocument(cache, plan.schema, this.ctx.apiUrl);
          } else if (plan.target.kind === 'rpc') {
            response = await executeRpc(exec, plan.target.name);
          } else {
            const table = cache.tables.get(qualifiedKey(plan.schema, plan.target.name));
            if (!table) throw tableNotFound(plan.schema, plan.target.name);
            response = plan.method === 'GET' || plan.method === 'HEAD'
              ? await executeRead(exec, table)
              : await executeMutation(exec, table);
          }
          if (plan.prefs.tx === 'rollback') throw new RollbackWith(response);
          return response;
        },
      );
    } catch (error) {
      if (error instanceof RollbackWith || retried) throw error;
      // A prepared statement that vanished (26000) or whose result type changed (0A000) is prepared afresh.
      const code = (error as { code?: unknown })?.code;
      const lost = code === '26000' || code === '0A000';
      if (error instanceof StaleSchema || lost || counterMissing(error) || (await this.schemaMoved().catch(() => false))) {
        if (counterMissing(error)) await this.watch.install();
        await this.reload();
        return this.run(request, plan, timing, true);
      }
      throw error;
    }
  }
}
