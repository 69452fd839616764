import type { HeaderReader } from '../gateway.ts';
import { RestError } from './errors.ts';

/** The `Prefer` header values PostgREST understands. */
export interface Preferences {
  return?: 'minimal' | 'representation' | 'headers-only';
  count?: 'exact' | 'planned' | 'estimated';
  resolution?: 'merge-duplicates' | 'ignore-duplicates';
  missing?: 'default' | 'null';
  tx?: 'commit' | 'rollback';
  handling?: 'strict' | 'lenient';
  maxAffected?: number;
  timezone?: string;
}

type KnownKey = 'return' | 'count' | 'resolution' | 'missing' | 'tx' | 'handling';

const KNOWN: Record<KnownKey, string[]> = {
  return: ['minimal', 'representation', 'headers-only'],
  count: ['exact', 'planned', 'estimated'],
  resolution: ['merge-duplicates', 'ignore-duplicates'],
  missing: ['default', 'null'],
  tx: ['commit', 'rollback'],
  handling: ['strict', 'lenient'],
};

/**
 * Parses every `Prefer` header (comma-joined by postgrest-js). As in PostgREST, the first value of each preference
 * wins, and unknown values are ignored unless `handling=strict`.
 */
export function parsePreferences(headers: HeaderReader): Preferences {
  const prefs: Preferences = {};
  const set = prefs as Record<string, string | number | undefined>;
  const invalid: string[] = [];
  for (const raw of (headers.get('prefer') ?? '').split(',')) {
    const part = raw.trim();
    if (!part) continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (Object.hasOwn(KNOWN, key) && KNOWN[key as KnownKey].includes(value)) {
      set[key] ??= value;
    } else if (key === 'max-affected') {
      // PostgREST reads the number leniently: a malformed one is ignored, never reported as invalid.
      if (/^\d+$/.test(value)) prefs.maxAffected ??= Number(value);
    } else if (key === 'timezone' && value) {
      prefs.timezone ??= value;
    } else {
      invalid.push(part);
    }
  }
  if (prefs.handling === 'strict' && invalid.length) {
    throw new RestError(400, 'PGRST122', 'Invalid preferences given with handling=strict', `Invalid preferences: ${invalid.join(', ')}`);
  }
  return prefs;
}

/** What a response answers, which decides the preferences it reports as applied. */
export type AppliedFor = 'read' | 'insert' | 'update' | 'delete' | 'rpc';

/**
 * The `Preference-Applied` values of a successful response, in PostgREST's order. `return` applies to writes only,
 * `missing` to inserts and updates, `resolution` to inserts into a table with a primary key or given `on_conflict`,
 * and `max-affected` — only together with `handling=strict` — to updates, deletes and functions; `count`, `tx`,
 * `handling` and `timezone` to every response (a `timezone` that Postgres refused has already failed the request).
 */
export function preferenceApplied(prefs: Preferences, kind: AppliedFor, resolvable = false): string[] {
  const write = kind === 'insert' || kind === 'update' || kind === 'delete';
  const applied: string[] = [];
  if (prefs.resolution && kind === 'insert' && resolvable) applied.push(`resolution=${prefs.resolution}`);
  if (prefs.missing && (kind === 'insert' || kind === 'update')) applied.push(`missing=${prefs.missing}`);
  if (prefs.return && write) applied.push(`return=${prefs.return}`);
  if (prefs.count) applied.push(`count=${prefs.count}`);
  if (prefs.tx) applied.push(`tx=${prefs.tx}`);
  if (prefs.handling) applied.push(`handling=${prefs.handling}`);
  if (prefs.timezone) applied.push(`timezone=${prefs.timezone}`);
  if (prefs.maxAffected !== undefined && prefs.handling === 'strict' && (kind === 'update' || kind === 'delete' || kind === 'rpc')) {
    applied.push(`max-affected=${prefs.maxAffected}`);
  }
  return applied;
}

/** The representation the client asked for. */
export interface Media {
  kind: 'json' | 'object' | 'csv';
  stripNulls: boolean;
}

/** `Accept` negotiation: JSON array (default), singular object, or CSV; anything else is 406 PGRST107. */
export function negotiateMedia(accept: string | null): Media {
  if (!accept) return { kind: 'json', stripNulls: false };
  const offered: string[] = [];
  for (const raw of accept.split(',')) {
    const [type, ...params] = raw.split(';').map((s) => s.trim());
    const lower = type.toLowerCase();
    offered.push(type);
    const stripNulls = params.some((p) => p.replace(/\s/g, '').toLowerCase() === 'nulls=stripped');
    if (lower === 'application/vnd.pgrst.object+json' || lower === 'application/vnd.pgrst.object') return { kind: 'object', stripNulls };
    if (lower === 'application/json' || lower === 'application/vnd.pgrst.array+json' || lower === '*/*' || lower === 'application/*') {
      return { kind: 'json', stripNulls };
    }
    if (lower === 'text/csv') return { kind: 'csv', stripNulls: false };
  }
  throw new RestError(406, 'PGRST107', `None of these media types are available: ${offered.join(', ')}`);
}

/** The schema a request addresses: `Accept-Profile` (reads) or `Content-Profile` (writes), default the first exposed. */
export function negotiateSchema(method: string, headers: HeaderReader, schemas: string[]): { schema: string; byProfile: boolean } {
  const header = method === 'GET' || method === 'HEAD' ? 'accept-profile' : 'content-profile';
  const requested = headers.get(header);
  if (requested === null) return { schema: schemas[0], byProfile: false };
  if (!schemas.includes(requested)) {
    throw new RestError(406, 'PGRST106', `Invalid schema: ${requested}`, null, `Only the following schemas are exposed: ${schemas.join(', ')}`);
  }
  return { schema: requested, byProfile: true };
}

/** A `Range: a-b` header as offset/limit; absent or malformed means everything (as PostgREST parses it). */
export function parseRangeHeader(headers: HeaderReader): { offset: number; limit?: number } | undefined {
  const value = headers.get('range');
  if (!value) return undefined;
  const unit = headers.get('range-unit');
  if (unit && unit !== 'items') return undefined;
  const m = /^(\d+)-(\d*)$/.exec(value.trim());
  if (!m) return undefined;
  const lower = Number(m[1]);
  if (m[2] === '') return { offset: lower };
  const upper = Number(m[2]);
  if (lower > upper) {
    throw new RestError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      'The lower boundary must be lower than or equal to the upper boundary in the Range header.',
    );
  }
  return { offset: lower, limit: upper - lower + 1 };
}

/** Intersects the `Range` header with `offset`/`limit` from the query string. */
export function intersectRanges(
  a: { offset: number; limit?: number } | undefined,
  b: { offset: number; limit?: number } | undefined,
): { offset: number; limit?: number } {
  if (!a) return b ?? { offset: 0 };
  if (!b) return a;
  const offset = Math.max(a.offset, b.offset);
  const ends = [a, b].filter((r) => r.limit !== undefined).map((r) => r.offset + r.limit! - 1);
  if (ends.length === 0) return { offset };
  return { offset, limit: Math.max(0, Math.min(...ends) - offset + 1) };
}

/** PostgREST's `Content-Range` value. */
export function contentRange(lower: number, upper: number, total: number | undefined): string {
  const totalText = total === undefined ? '*' : String(total);
  const range = total !== 0 && lower <= upper ? `${lower}-${upper}` : '*';
  return `${range}/${totalText}`;
}

/** Status and `Content-Range` for a read of `pageTotal` rows at `offset` (RangeQuery.rangeStatusHeader). */
export function rangeStatus(offset: number, pageTotal: number, total: number | undefined): { status: number; contentRange: string } {
  const upper = offset + pageTotal - 1;
  let status = 200;
  if (total !== undefined) {
    if (offset > total) status = 416;
    else if (1 + upper - offset < total) status = 206;
  }
  return { status, contentRange: contentRange(offset, upper, total) };
}
