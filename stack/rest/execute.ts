import type { PlainResponse } from '../gateway.ts';
import type { BatchTx } from '../db/pool.ts';
import type { RequestPlan } from './api.ts';
import { RestError, singularityError } from './errors.ts';
import { type AppliedFor, contentRange, preferenceApplied, rangeStatus } from './negotiate.ts';
import { planDelete, planInsert, planUpdate, returningList, TARGET_ALIAS } from './mutate.ts';
import { applyQuery, outputNames, type PlanContext, planSelect, type ReadNode, renderCount, renderQuery, type Source } from './read-plan.ts';
import { success, toCsv } from './respond.ts';
import { callSql, resolveRoutine, routineSource, type RpcArgs } from './rpc.ts';
import type { SchemaCache, Table } from './schema-cache.ts';
import { Aliases, Params, qualified } from './sql.ts';

/** What one request's execution works with, inside its transaction. */
export interface Execution {
  /** The request's transaction; values are inlined as literals (see `Params`). */
  tx: BatchTx;
  cache: SchemaCache;
  plan: RequestPlan;
  authed: boolean;
  /** Aggregate functions are enabled (`pgrst.db_aggregates_enabled` on the authenticator role). */
  aggregates: boolean;
}

function context(exec: Execution): PlanContext {
  return { cache: exec.cache, params: new Params(), aliases: new Aliases(), aggregates: exec.aggregates };
}

/** The JSON aggregate of a page: array, singular object, nulls stripped on request. */
function bodyExpr(plan: RequestPlan, rows: string): string {
  const agg = `coalesce(pg_catalog.json_agg(${rows}), '[]'::json)`;
  return plan.media.stripNulls ? `pg_catalog.json_strip_nulls(${agg})::text` : `${agg}::text`;
}

/** Each row of the page as Postgres prints a record, without its parentheses: PostgREST's CSV lines. */
const CSV_ROWS = "coalesce(pg_catalog.string_agg(pg_catalog.substring(pgrst_t::text, 2, pg_catalog.length(pgrst_t::text) - 2), E'\\n'), '')";

/** Singular (`application/vnd.pgrst.object+json`) and CSV rendering of a JSON array produced by Postgres. */
function renderBody(plan: RequestPlan, json: string, rows: number): string {
  if (plan.media.kind === 'object') {
    if (rows !== 1) throw singularityError(rows);
    return json.slice(1, -1);
  }
  if (plan.media.kind === 'csv') return toCsv(json);
  return json;
}

async function plannedCount(exec: Execution, pc: PlanContext, node: ReadNode): Promise<number> {
  const sql = `explain (format json) ${renderCount(pc, node).replace(/^select pg_catalog\.count\(\*\)/, 'select 1')}`;
  const { rows } = await exec.tx.extended(sql, pc.params.values);
  const plan = rows[0]['QUERY PLAN'];
  const parsed = typeof plan === 'string' ? JSON.parse(plan) : plan;
  return Number(parsed[0].Plan['Plan Rows']);
}

/** Runs a planned read (table, view or function result) and answers with PostgREST's status and Content-Range. */
async function runRead(
  exec: Execution,
  pc: PlanContext,
  root: ReadNode,
  single = false,
  checkRows?: (rows: number) => void,
  kind: AppliedFor = 'read',
): Promise<PlainResponse> {
  const { plan } = exec;
  root.offset = plan.range.offset;
  root.limit = plan.range.limit;
  let total: number | undefined;
  let countSql = 'null::bigint';
  if (plan.prefs.count === 'exact') countSql = `(${renderCount(pc, root)})`;
  else if (plan.prefs.count === 'planned' || plan.prefs.count === 'estimated') {
    total = await plannedCount(exec, pc, root);
    if (plan.prefs.count === 'estimated' && total <= plan.maxRows) countSql = `(${renderCount(pc, root)})`;
  }
  const page = renderQuery(pc, root, { maxRows: plan.maxRows });
  const csv = plan.media.kind === 'csv' && !single;
  const body = single
    ? `coalesce((pg_catalog.json_agg(pgrst_t) -> 0), 'null'::json)::text`
    : csv
      ? CSV_ROWS
      : bodyExpr(plan, 'pgrst_t');
  const sql = `select ${countSql} as total, pg_catalog.count(pgrst_t) as page_total, ${body} as body from (${page}) as pgrst_t`;
  const { rows } = await exec.tx.query(sql, true, pc.params.values);
  const row = rows[0];
  if (row.total !== null) total = Number(row.total);
  const pageTotal = Number(row.page_total);
  checkRows?.(pageTotal);
  const { status, contentRange: range } = rangeStatus(plan.range.offset, pageTotal, total);
  if (status === 416) {
    throw new RestError(416, 'PGRST103', 'Requested range not satisfiable', `An offset of ${plan.range.offset} was requested, but there are only ${total ?? 0} rows.`, null, {
      'content-range': range,
    });
  }
  // PostgREST's CSV: the header only when there are rows, then each row as Postgres prints a record, unwrapped.
  const text = single ? row.body : csv ? `${pageTotal > 0 ? outputNames(root).join(',') : ''}\n${row.body}` : renderBody(plan, row.body, pageTotal);
  return success(status, plan.method === 'HEAD' ? undefined : text, plan.media, {
    contentRange: range,
    profile: plan.byProfile ? plan.schema : undefined,
    applied: preferenceApplied(plan.prefs, kind),
  });
}

/** GET/HEAD on a table or view. */
export async function executeRead(exec: Execution, table: Table): Promise<PlainResponse> {
  const pc = context(exec);
  const source: Source = { sql: qualified(table.schema, table.name), name: table.name, columns: table.columns, table };
  const root = planSelect(pc, source, exec.plan.query.select, pc.aliases.next());
  applyQuery(pc, root, exec.plan.query);
  return runRead(exec, pc, root);
}

function locationOf(table: Table, row: Record<string, unknown> | null): string | undefined {
  if (!row || table.pk.length === 0) return undefined;
  const qs = table.pk.map((c) => `${encodeURIComponent(c)}=eq.${encodeURIComponent(String(row[c]))}`).join('&');
  return `/${table.name}?${qs}`;
}

/** POST (insert/upsert), PATCH and DELETE on a table or view. */
export async function executeMutation(exec: Execution, table: Table): Promise<PlainResponse> {
  const { plan } = exec;
  const pc = context(exec);
  const representation = plan.prefs.return === 'representation';
  const headersOnly = plan.prefs.return === 'headers-only' && plan.method === 'POST';
  const source: Source = { sql: 'pgrst_source', name: table.name, columns: table.columns, table };
  const root = planSelect(pc, source, representation ? plan.query.select : [], TARGET_ALIAS);
  applyQuery(pc, root, plan.query, true);
  const columns = new Set(representation ? root.used : []);
  if (headersOnly) for (const c of table.pk) columns.add(c);

  let statements: string[];
  let upsertMerge = false;
  if (plan.method === 'POST') {
    statements = planInsert(pc, table, plan.body, plan.bodyText ?? '', plan.query, plan.prefs, (merge) => {
      upsertMerge = merge && representation;
      return returningList(columns, upsertMerge ? [`(${TARGET_ALIAS}.xmax = 0) as pgrst_inserted`] : []);
    });
  } else if (plan.method === 'PATCH') {
    const update = planUpdate(pc, table, plan.body, plan.bodyText ?? '', plan.query, returningList(columns));
    statements = update ? [update] : [];
  } else {
    statements = [planDelete(pc, table, plan.query, returningList(columns))];
  }

  let pageTotal = 0;
  let inserted: number | undefined;
  let json = '[]';
  let location: string | undefined;
  if (statements.length > 0) {
    const ctes = statements.map((s, i) => `pgrst_m${i} as (${s})`);
    const union = statements.map((_, i) => `select * from pgrst_m${i}`).join(' union all ');
    const parts = ['(select pg_catalog.count(*) from pgrst_source) as page_total'];
    if (upsertMerge) parts.push('(select pg_catalog.count(*) from pgrst_source where pgrst_inserted) as inserted');
    if (representation) parts.push(`(select ${bodyExpr(plan, 'pgrst_r')} from (${renderQuery(pc, root)}) as pgrst_r) as body`);
    if (headersOnly) parts.push('(select pg_catalog.row_to_json(pgrst_l) from (select * from pgrst_source limit 1) as pgrst_l) as location');
    const sql = `with ${ctes.join(', ')}, pgrst_source as (${union}) select ${parts.join(', ')}`;
    const { rows } = await exec.tx.query(sql, false, pc.params.values);
    pageTotal = Number(rows[0].page_total);
    if (upsertMerge) inserted = Number(rows[0].inserted);
    if (representation) json = rows[0].body;
    if (headersOnly) location = locationOf(table, rows[0].location);
  }

  if (plan.method !== 'POST') checkMaxAffected(plan, pageTotal);
  if (plan.media.kind === 'object' && pageTotal !== 1) throw singularityError(pageTotal);

  const counted = plan.prefs.count !== undefined ? pageTotal : undefined;
  const kind = plan.method === 'POST' ? 'insert' : plan.method === 'PATCH' ? 'update' : 'delete';
  const applied = preferenceApplied(plan.prefs, kind, table.pk.length > 0 || plan.query.onConflict !== undefined);
  const headers = {
    contentRange: plan.method === 'PATCH' ? contentRange(0, pageTotal - 1, counted) : contentRange(1, 0, counted),
    profile: plan.byProfile ? plan.schema : undefined,
    applied,
    location,
  };
  if (plan.method === 'POST') {
    const status = inserted !== undefined && inserted <= 0 && plan.prefs.resolution === 'merge-duplicates' ? 200 : 201;
    return success(status, representation ? renderBody(plan, json, pageTotal) : undefined, plan.media, headers);
  }
  if (representation) return success(200, renderBody(plan, json, pageTotal), plan.media, headers);
  return success(204, undefined, plan.media, headers);
}

/** `Prefer: handling=strict, max-affected=n`: more affected rows than that fail the request (and roll it back). */
function checkMaxAffected(plan: RequestPlan, affected: number): void {
  if (plan.prefs.handling === 'strict' && plan.prefs.maxAffected !== undefined && affected > plan.prefs.maxAffected) {
    throw new RestError(400, 'PGRST124', 'Query result exceeds max-affected preference constraint', `The query affects ${affected} rows`);
  }
}

/** `/rpc/<fn>` by POST (JSON arguments) or GET/HEAD (query-string arguments). */
export async function executeRpc(exec: Execution, name: string): Promise<PlainResponse> {
  const { plan } = exec;
  const pc = context(exec);
  const args: RpcArgs = plan.method === 'POST'
    ? { kind: 'json', body: plan.body, text: plan.bodyText }
    : { kind: 'query', args: plan.query.rpcArgs };
  if (args.kind === 'json' && args.body !== undefined && (typeof args.body !== 'object' || args.body === null || Array.isArray(args.body))) {
    throw new RestError(400, 'PGRST102', 'Empty or invalid json');
  }
  const routine = resolveRoutine(exec.cache, plan.schema, name, args);
  const call = callSql(routine, args, pc.params);
  const profile = plan.byProfile ? plan.schema : undefined;
  const applied = preferenceApplied(plan.prefs, 'rpc');
  // For a function, the affected rows are the rows it returns; one that returns no set cannot say.
  const strictMax = plan.prefs.handling === 'strict' && plan.prefs.maxAffected !== undefined;
  if (strictMax && !routine.returnsSet) {
    throw new RestError(400, 'PGRST128', 'Function must return SETOF or TABLE when max-affected preference is used with handling=strict');
  }
  const checkRows = (rows: number) => checkMaxAffected(plan, rows);

  if (routine.returnsVoid) {
    await exec.tx.query(`select ${call}`, true, pc.params.values);
    return success(204, undefined, plan.media, { profile, applied });
  }
  if (routine.returnsComposite) {
    const source = routineSource(exec.cache, routine, call);
    const root = planSelect(pc, source, plan.query.select, pc.aliases.next());
    applyQuery(pc, root, plan.query);
    if (!routine.returnsSet && plan.media.kind === 'json') return runRead(exec, pc, root, true, undefined, 'rpc');
    return runRead(exec, pc, root, false, checkRows, 'rpc');
  }
  if (!routine.returnsSet) {
    const { rows } = await exec.tx.query(`select pg_catalog.to_json(${call})::text as body`, true, pc.params.values);
    const text = rows[0].body ?? 'null';
    return success(200, plan.method === 'HEAD' ? undefined : text, plan.media, { contentRange: '0-0/*', profile, applied });
  }
  // A set of scalars: limit/offset apply, other row operations have no columns to act on.
  let page = `select pgrst_v from ${call} as pgrst_f(pgrst_v)`;
  const limit = Math.min(plan.range.limit ?? Infinity, plan.maxRows);
  if (limit !== Infinity) page += ` limit ${limit}`;
  if (plan.range.offset) page += ` offset ${plan.range.offset}`;
  const total = plan.prefs.count === 'exact' ? `(select pg_catalog.count(*) from ${call} as pgrst_c)` : 'null::bigint';
  const sql = `select ${total} as total, pg_catalog.count(*) as page_total, coalesce(pg_catalog.json_agg(pgrst_t.pgrst_v), '[]'::json)::text as body from (${page}) as pgrst_t`;
  const { rows } = await exec.tx.query(sql, true, pc.params.values);
  const pageTotal = Number(rows[0].page_total);
  checkRows(pageTotal);
  const { status, contentRange: range } = rangeStatus(plan.range.offset, pageTotal, rows[0].total === null ? undefined : Number(rows[0].total));
  return success(status, plan.method === 'HEAD' ? undefined : renderBody(plan, rows[0].body, pageTotal), plan.media, {
    contentRange: range,
    profile,
    applied,
  });
}
