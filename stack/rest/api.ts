import type { StackContext } from '../context.ts';
import { identify, JwtError, type RequestIdentity, RoleSettings, runAsRequest } from '../db/request-role.ts';
import type { TxClient } from '../db/pool.ts';
import { errorResponse, jwtError, RestError, tableNotFound, toRestError } from './errors.ts';
import { parseQuery, type QueryParams } from './grammar.ts';
import { negotiateMedia, negotiateSchema, parsePreferences, parseRangeHeader, intersectRanges, type Media, type Preferences } from './negotiate.ts';
import { executeMutation, executeRead, executeRpc, type Execution } from './execute.ts';
import { rootDocument } from './openapi.ts';
import { loadSchemaCache, qualifiedKey, type SchemaCache } from './schema-cache.ts';
import { SchemaWatch, VERSION_SQL } from './schema-watch.ts';
import { ident } from './sql.ts';
import { resolveRoutine } from './rpc.ts';

/** Thrown inside the transaction to roll it back while still answering with a response (`Prefer: tx=rollback`). */
export class RollbackWith extends Error {
  constructor(readonly response: Response) {
    super('rollback');
  }
}

/** The DDL counter is gone (e.g. dropped by a database reset): reinstall it and retry. */
class CounterMissing extends Error {}
/** The JWT's role may not read the counter (a custom role without usage on `extensions`): check it as the owner. */
class CounterDenied extends Error {}

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
async function readJsonBody(request: Request): Promise<{ body: unknown; bodyText: string | undefined }> {
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
  private readonly settings: RoleSettings;
  private readonly watch: SchemaWatch;

  constructor(private readonly ctx: StackContext) {
    this.settings = new RoleSettings(ctx.db);
    this.watch = new SchemaWatch(ctx.db, ctx.log);
  }

  async start(): Promise<void> {
    await this.watch.start();
    await this.ctx.db.tx(async (client) => {
      await this.refresh(client, true);
    });
  }

  async close(): Promise<void> {
    await this.watch.stop();
  }

  /** Reads the DDL counter in the request's transaction and reloads the schema cache on the same client if it moved. */
  private async refresh(client: TxClient, force = false, skipCheck = false): Promise<SchemaCache> {
    if (skipCheck && this.cache) return this.cache;
    let version: string | null = null;
    if (this.watch.enabled) {
      try {
        const { rows } = await client.query<{ version: string }>(VERSION_SQL);
        version = rows[0]?.version ?? null;
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === '42P01') throw new CounterMissing();
        if (code === '42501') throw new CounterDenied();
        throw error;
      }
    }
    if (force || !this.cache || this.watch.notified || version !== this.version) {
      this.watch.notified = false;
      const cache = await loadSchemaCache(client, this.ctx.config.api.schemas);
      this.cache = cache;
      this.version = version;
      this.settings.reload();
      return cache;
    }
    return this.cache;
  }

  async handle(request: Request): Promise<Response> {
    const method = request.method.toUpperCase();
    let authed = false;
    try {
      const plan = await this.prepare(request, method);
      authed = plan.identity.role !== 'anon';
      return await this.run(request, plan, 'first');
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

  private async prepare(request: Request, method: string): Promise<RequestPlan> {
    const url = new URL(request.url);
    const target = route(url.pathname, method);
    const { schema, byProfile } = negotiateSchema(method, request.headers, this.ctx.config.api.schemas);
    const media = negotiateMedia(request.headers.get('accept'));
    let identity: RequestIdentity;
    try {
      identity = await identify(this.ctx.jwt, request.headers.get('authorization'));
    } catch (error) {
      if (error instanceof JwtError) throw jwtFailure(error);
      throw error;
    }
    const prefs = parsePreferences(request.headers);
    const isRead = method === 'GET' || method === 'HEAD';
    const query = parseQuery(url.searchParams, target.kind === 'rpc' && isRead);
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

  private async run(request: Request, plan: RequestPlan, attempt: 'first' | 'reinstalled' | 'checked'): Promise<Response> {
    const url = new URL(request.url);
    const searchPath = [plan.schema, ...this.ctx.config.api.extra_search_path.filter((s) => s !== plan.schema)].map(ident).join(', ');
    const authed = plan.identity.role !== 'anon';
    try {
      return await runAsRequest(
        this.ctx.db,
        this.settings,
        plan.identity,
        { method: plan.method, path: url.pathname, headers: request.headers },
        { readOnly: this.readOnly(plan), searchPath },
        async (client) => {
          const cache = await this.refresh(client, false, attempt === 'checked');
          if (plan.prefs.timezone) await client.query("select set_config('timezone', $1, true)", [plan.prefs.timezone]);
          const exec: Execution = { client, cache, plan, authed };
          let response: Response;
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
      if (error instanceof CounterMissing && attempt === 'first') {
        await this.watch.install();
        return this.run(request, plan, 'reinstalled');
      }
      if (error instanceof CounterDenied && attempt !== 'checked') {
        await this.ctx.db.tx((client) => this.refresh(client));
        return this.run(request, plan, 'checked');
      }
      throw error;
    }
  }
}
