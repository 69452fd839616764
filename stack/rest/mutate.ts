import { payloadColumnNotFound, RestError } from './errors.ts';
import type { QueryParams } from './grammar.ts';
import type { Preferences } from './negotiate.ts';
import { filterSql, logicSql, type PlanContext, planSelect, type ReadNode } from './read-plan.ts';
import type { Table } from './schema-cache.ts';
import { ident, qualified } from './sql.ts';

/** The alias of the target table in every mutation, so filters and the representation line up. */
export const TARGET_ALIAS = ident('pgrst_t0');

function invalidBody(message = 'Empty or invalid json'): RestError {
  return new RestError(400, 'PGRST102', message);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkColumns(table: Table, columns: string[]): void {
  for (const c of columns) if (!table.columnMap.has(c)) throw payloadColumnNotFound(table.name, c);
}

/** The WHERE of an UPDATE/DELETE: the top-level filters and logic trees of the query string. */
export function mutationWhere(ctx: PlanContext, table: Table, query: QueryParams): string[] {
  const node: ReadNode = planSelect(ctx, { sql: '', name: table.name, columns: table.columns, table }, [], TARGET_ALIAS);
  const where: string[] = [];
  for (const { path, filter } of query.filters) if (path.length === 0) where.push(filterSql(ctx, node, filter));
  for (const { path, tree } of query.logic) if (path.length === 0) where.push(logicSql(ctx, node, tree));
  return where;
}

/** RETURNING list: what the representation and `Location` need, or `1` just to count rows. */
export function returningList(columns: Iterable<string>, extra: string[] = []): string {
  const list = [...new Set(columns)].map((c) => `${TARGET_ALIAS}.${ident(c)}`).concat(extra);
  return list.length ? list.join(', ') : '1';
}

/** One or more INSERT statements (as CTE bodies) for a POST, honouring `columns`, `on_conflict` and `Prefer`. */
export function planInsert(
  ctx: PlanContext,
  table: Table,
  body: unknown,
  bodyText: string,
  query: QueryParams,
  prefs: Preferences,
  returning: (upsertMerge: boolean) => string,
): string[] {
  const rows = Array.isArray(body) ? body : [body];
  if (!rows.every(isPlainObject)) throw invalidBody();
  if (rows.length === 0) return [];
  let columns: string[];
  if (query.columns) {
    columns = query.columns;
  } else {
    columns = Object.keys(rows[0]);
    const same = rows.every((r) => {
      const keys = Object.keys(r);
      return keys.length === columns.length && keys.every((k) => columns.includes(k));
    });
    if (!same) throw invalidBody('All object keys must match');
  }
  checkColumns(table, columns);

  let conflict = '';
  let merge = false;
  if (prefs.resolution) {
    const target = query.onConflict ?? table.pk;
    if (target.length > 0) {
      checkColumns(table, target);
      const updatable = columns;
      merge = prefs.resolution === 'merge-duplicates' && updatable.length > 0;
      conflict = ` on conflict (${target.map(ident).join(', ')}) ${
        merge ? `do update set ${updatable.map((c) => `${ident(c)} = excluded.${ident(c)}`).join(', ')}` : 'do nothing'
      }`;
    }
  } else if (query.onConflict) {
    checkColumns(table, query.onConflict);
  }

  // With missing=default a key absent from a row takes the column default: rows are told apart by the keys they carry.
  const groups = new Map<string, { cols: string[]; rows: Record<string, unknown>[] }>();
  for (const row of rows) {
    const cols = prefs.missing === 'default' ? columns.filter((c) => Object.hasOwn(row, c)) : columns;
    const key = cols.join('\u0000');
    const group = groups.get(key) ?? { cols, rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const target = qualified(table.schema, table.name);
  if (groups.size > 1) {
    // missing=default with rows carrying different keys: one INSERT … VALUES, an absent key a DEFAULT cell, so rows
    // keep their order and a default (e.g. a sequence) is evaluated only where a value is missing.
    const param = ctx.params.add(Array.isArray(body) ? bodyText : `[${bodyText}]`);
    const values = rows.map((row, i) => {
      const record = `pg_catalog.json_populate_record(null::${target}, ${param}::json -> ${i})`;
      return `(${columns.map((c) => (Object.hasOwn(row, c) ? `(${record}).${ident(c)}` : 'default')).join(', ')})`;
    });
    return [`insert into ${target} as ${TARGET_ALIAS} (${columns.map(ident).join(', ')}) values ${values.join(', ')}${conflict} returning ${returning(merge)}`];
  }
  // One group (the usual case): the body is bound as sent.
  const [{ cols, rows: groupRows }] = groups.values();
  if (cols.length === 0) {
    if (groupRows.length > 1) throw invalidBody('Inserting several empty objects at once is not supported');
    return [`insert into ${target} as ${TARGET_ALIAS} default values${conflict} returning ${returning(merge)}`];
  }
  const param = ctx.params.add(Array.isArray(body) ? bodyText : `[${bodyText}]`);
  const list = cols.map(ident).join(', ');
  return [
    `insert into ${target} as ${TARGET_ALIAS} (${list}) select ${list} from pg_catalog.json_populate_recordset(null::${target}, ${param}::json) as pgrst_body${conflict} returning ${returning(merge)}`,
  ];
}

/** The UPDATE for a PATCH; `undefined` when the body sets nothing (PostgREST then updates no rows). */
export function planUpdate(
  ctx: PlanContext,
  table: Table,
  body: unknown,
  bodyText: string,
  query: QueryParams,
  returning: string,
): string | undefined {
  if (!isPlainObject(body)) throw invalidBody();
  const columns = query.columns ?? Object.keys(body);
  checkColumns(table, columns);
  if (columns.length === 0) return undefined;
  const target = qualified(table.schema, table.name);
  const where = mutationWhere(ctx, table, query);
  const param = ctx.params.add(bodyText);
  const sets = columns.map((c) => `${ident(c)} = pgrst_body.${ident(c)}`).join(', ');
  return `update ${target} as ${TARGET_ALIAS} set ${sets} from (select * from pg_catalog.json_populate_record(null::${target}, ${param}::json)) as pgrst_body${
    where.length ? ` where ${where.join(' and ')}` : ''
  } returning ${returning}`;
}

/** The DELETE for a DELETE. */
export function planDelete(ctx: PlanContext, table: Table, query: QueryParams, returning: string): string {
  const where = mutationWhere(ctx, table, query);
  return `delete from ${qualified(table.schema, table.name)} as ${TARGET_ALIAS}${where.length ? ` where ${where.join(' and ')}` : ''} returning ${returning}`;
}
