import type { TxClient } from '../db/pool.ts';
import type { Db } from '../db/pool.ts';
import { identify, runAsRequest, type RequestIdentity, type RoleSettings } from '../db/request-role.ts';
import { JwtError, type JwtKeys } from '../jwt.ts';
import { ERRORS } from './errors.ts';

/** Who is calling: the verified identity and the `owner` that rows they create get (the JWT `sub`). */
export interface Caller {
  identity: RequestIdentity;
  owner: string | undefined;
}

// Upstream verifies with jose and reports jose's messages; the stack's verifier reports reasons, mapped back here.
const JOSE_MESSAGES: Partial<Record<JwtError['reason'], string>> = {
  malformed: 'Invalid Compact JWS',
  bad_signature: 'signature verification failed',
  expired: '"exp" claim timestamp check failed',
  not_yet_valid: '"nbf" claim timestamp check failed',
};

/**
 * Verifies the bearer token like the Storage API's JWT plugin: a missing or invalid token is `AccessDenied`
 * (HTTP 400, statusCode "403") with the verifier's message.
 */
export async function authenticate(jwt: JwtKeys, authorization: string | null): Promise<Caller> {
  const token = (authorization ?? '').replace(/^Bearer\s+/i, '').trim();
  if (!token) throw ERRORS.accessDenied(JOSE_MESSAGES.malformed);
  try {
    const identity = await identify(jwt, `Bearer ${token}`);
    const sub = identity.claims.sub;
    return { identity, owner: typeof sub === 'string' && sub !== '' ? sub : undefined };
  } catch (error) {
    if (error instanceof JwtError) throw ERRORS.accessDenied(JOSE_MESSAGES[error.reason] ?? error.message);
    throw error;
  }
}

const ROLLBACK = Symbol('rollback');

/** HTTP facts of the request, exposed to SQL as `request.method`, `request.path`, `request.headers`. */
export interface Facts {
  method: string;
  path: string;
  headers: Headers;
}

/**
 * The Storage API's database access: every unit of work is one transaction, run either as the caller (their
 * role and claims, so RLS on `storage.objects`/`storage.buckets` decides) or as the service role (the
 * Storage API's "superuser" — upstream uses the service key's claims the same way). Deletes through the API
 * are allowed (`storage.allow_delete_query`), as upstream sets for every request.
 */
export class StorageDb {
  constructor(
    private readonly db: Db,
    private readonly settings: RoleSettings,
    readonly service: Caller,
  ) {}

  run<T>(caller: Caller, facts: Facts, fn: (client: TxClient) => Promise<T>, readOnly = false): Promise<T> {
    return runAsRequest(
      this.db,
      this.settings,
      caller.identity,
      facts,
      { readOnly, searchPath: 'public, extensions' },
      async (client) => {
        await client.query("select set_config('storage.allow_delete_query', 'true', true)");
        return fn(client);
      },
    );
  }

  asService<T>(facts: Facts, fn: (client: TxClient) => Promise<T>, readOnly = false): Promise<T> {
    return this.run(this.service, facts, fn, readOnly);
  }

  /**
   * Runs `fn` as the caller and rolls it back whatever happens: upstream's `testPermission`, used to ask RLS
   * whether an insert/upsert/update would be allowed before any byte is written. Returns what `fn` returned.
   */
  async testPermission<T>(caller: Caller, facts: Facts, fn: (client: TxClient) => Promise<T>): Promise<T> {
    let result: T | undefined;
    try {
      await this.run(caller, facts, async (client) => {
        result = await fn(client);
        throw ROLLBACK;
      });
    } catch (error) {
      if (error !== ROLLBACK) throw error;
    }
    return result as T;
  }

  /** Runs one query as the postgres superuser outside any request (start-up work). */
  admin<T>(fn: (client: TxClient) => Promise<T>): Promise<T> {
    return this.db.tx(async (client) => {
      await client.query("select set_config('storage.allow_delete_query', 'true', true)");
      return fn(client);
    });
  }
}
