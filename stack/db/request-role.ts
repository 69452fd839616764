import type { JWTPayload } from 'jose';
import type { HeaderReader } from '../gateway.ts';
import type { JwtKeys } from '../jwt.ts';
import { JwtError } from '../jwt.ts';
import type { BatchTx, BatchTxOptions, Db, TxClient } from './pool.ts';

/** Who is calling and how, as PostgREST and the Storage API put it into the transaction (contract §4.4). */
export interface RequestIdentity {
  /** Database role to run as: the JWT's `role` claim, or `anon` without a token. */
  role: string;
  /** The JWT claims with `role` present (`{"role":"anon"}` without a token). */
  claims: Record<string, unknown>;
}

/** HTTP facts exposed to SQL as `request.method`, `request.path`, `request.headers`, `request.cookies`. */
export interface RequestFacts {
  method: string;
  path: string;
  headers: HeaderReader;
}

/** Options for {@link runAsRequest}. */
export interface RunAsRequestOptions {
  readOnly?: boolean;
  /** `search_path` for the transaction, e.g. `public, extensions`. */
  searchPath: string;
  /** Settings applied after PostgREST's sequence, e.g. `timezone` from `Prefer: timezone=…`. */
  extraSettings?: Array<[string, string]>;
}

const ANON: RequestIdentity = { role: 'anon', claims: { role: 'anon' } };

/**
 * Reads the bearer token from an Authorization header and verifies it. No header or a non-Bearer value means
 * anon (as PostgREST does); a present but invalid token — an empty one included — throws {@link JwtError}.
 */
export async function identify(jwt: JwtKeys, authorization: string | null): Promise<RequestIdentity> {
  const match = authorization ? /^Bearer(?:\s+(.*))?$/i.exec(authorization.trim()) : null;
  if (!match) return ANON;
  const token = match[1]?.trim() ?? '';
  if (token === '') throw new JwtError('malformed', 'Empty JWT is sent in Authorization header');
  const payload: JWTPayload = await jwt.verify(token);
  const role = typeof payload.role === 'string' && payload.role !== '' ? payload.role : 'anon';
  return { role, claims: { ...payload, role } };
}

/**
 * Per-role settings from `alter role … set` (statement_timeout and friends). PostgREST applies them per request
 * because it connects as `authenticator`; the stack does the same. Loaded lazily and cached until {@link reload}.
 */
export class RoleSettings {
  private cache: Promise<Map<string, Array<[string, string]>>> | undefined;

  constructor(private readonly db: Db) {}

  reload(): void {
    this.cache = undefined;
  }

  async for(role: string): Promise<Array<[string, string]>> {
    this.cache ??= this.load();
    return (await this.cache).get(role) ?? [];
  }

  private async load(): Promise<Map<string, Array<[string, string]>>> {
    const { rows } = await this.db.query<{ rolname: string; setting: string }>(
      `select r.rolname, unnest(s.setconfig) as setting
         from pg_catalog.pg_db_role_setting s
         join pg_catalog.pg_roles r on r.oid = s.setrole
        where s.setdatabase = 0 or s.setdatabase = (select oid from pg_catalog.pg_database where datname = current_database())`,
    );
    const map = new Map<string, Array<[string, string]>>();
    for (const { rolname, setting } of rows) {
      const eq = setting.indexOf('=');
      const list = map.get(rolname) ?? [];
      list.push([setting.slice(0, eq), setting.slice(eq + 1)]);
      map.set(rolname, list);
    }
    return map;
  }
}

function cookiesOf(headers: HeaderReader): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (headers.get('cookie') ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

async function requestSettings(
  settings: RoleSettings,
  identity: RequestIdentity,
  facts: RequestFacts,
  options: RunAsRequestOptions,
): Promise<Array<[string, string]>> {
  const roleSettings = await settings.for(identity.role);
  const headers: Record<string, string> = {};
  facts.headers.forEach((value, key) => {
    headers[key.toLowerCase()] = value;
  });
  return [
    ['search_path', options.searchPath],
    ...roleSettings,
    ['role', identity.role],
    ['request.jwt.claims', JSON.stringify(identity.claims)],
    ['request.method', facts.method],
    ['request.path', facts.path],
    ['request.headers', JSON.stringify(headers)],
    ['request.cookies', JSON.stringify(cookiesOf(facts.headers))],
    ...(options.extraSettings ?? []),
  ];
}

/**
 * Runs `fn` in one transaction as the caller, with PostgREST's `set_config` sequence (all transaction-local):
 * search_path, the role's own settings, role, request.jwt.claims, request.method, request.path, request.headers,
 * request.cookies. Everything `fn` does is subject to the role's grants and RLS.
 */
export async function runAsRequest<T>(
  db: Db,
  settings: RoleSettings,
  identity: RequestIdentity,
  facts: RequestFacts,
  options: RunAsRequestOptions,
  fn: (client: TxClient) => Promise<T>,
): Promise<T> {
  const pairs = await requestSettings(settings, identity, facts, options);
  return db.tx(fn, { readOnly: options.readOnly, settings: pairs });
}

/**
 * {@link runAsRequest} for callers that inline their values ({@link Db.batchTx}): the settings travel with the
 * first statement, so a read-only request is one round trip to the database.
 */
export async function runAsRequestBatched<T>(
  db: Db,
  settings: RoleSettings,
  identity: RequestIdentity,
  facts: RequestFacts,
  options: RunAsRequestOptions & Pick<BatchTxOptions, 'probe' | 'afterFirst'>,
  fn: (tx: BatchTx) => Promise<T>,
): Promise<T> {
  const pairs = await requestSettings(settings, identity, facts, options);
  return db.batchTx(fn, { readOnly: options.readOnly, settings: pairs, probe: options.probe, afterFirst: options.afterFirst });
}

export { JwtError };
