import { columnNotFound, RestError } from './errors.ts';
import type { Field, Filter, LogicTree, OrderTerm, QueryParams, SelectItem } from './grammar.ts';
import { findRelationship, isToOne, joinCondition, parentJoinColumns, type Relationship } from './relationships.ts';
import { type Column, qualifiedKey, rowFunction, type SchemaCache, type Table } from './schema-cache.ts';
import { type Aliases, ident, type Params, qualified } from './sql.ts';

/** What a read selects from: a table, a mutation's `pgrst_source`, or a function call. */
export interface Source {
  /** SQL for the FROM item (never built from user input). */
  sql: string;
  /** Relation name used in messages (`column <name>.<col> does not exist`). */
  name: string;
  columns: Column[];
  /** The table, when embedding from this source is possible. */
  table?: Table;
}

/** One output column of a read. */
interface Item {
  sql: string;
  name: string;
  /** An aggregate: the node's other items become its GROUP BY. */
  aggregate?: boolean;
  /** A json value (an embedded resource), grouped as jsonb since json has no equality. */
  json?: boolean;
  /**
   * For an aggregate: its argument, and how to apply it to a column. Inside a to-one spread the argument is selected
   * instead and the aggregate applied a level up (see {@link outputItems}).
   */
  hoist?: { arg: string; apply: (column: string) => string };
}

/** An embedded resource under a {@link ReadNode}. */
export interface Embed {
  /** How filters, orders and limits refer to it: the alias if given, else the name. */
  key: string;
  outName: string;
  rel: Relationship;
  node: ReadNode;
  lateral: string;
  inner: boolean;
  spread: boolean;
  /** `rel()` with nothing selected: used only for filtering, left out of the output. */
  hidden: boolean;
  /** `rel=is.null` / `rel=not.is.null` on the parent. */
  nullFilter?: 'null' | 'not_null';
}

/** A planned SELECT over one source, with embedded resources as lateral joins. */
export interface ReadNode {
  source: Source;
  columns: Map<string, Column>;
  alias: string;
  items: Item[];
  embeds: Embed[];
  where: string[];
  order: string[];
  offset: number;
  limit?: number;
  /** Columns of the source the statement refers to (a mutation returns exactly these). */
  used: Set<string>;
}

/** Shared state while planning one statement. */
export interface PlanContext {
  cache: SchemaCache;
  params: Params;
  aliases: Aliases;
  /** `pgrst.db_aggregates_enabled` is on for the authenticator role. */
  aggregates?: boolean;
}

function aggregatesAllowed(ctx: PlanContext): void {
  if (!ctx.aggregates) throw new RestError(400, 'PGRST123', 'Use of aggregate functions is not allowed');
}

const QUANT_SQL = { eq: '=', gte: '>=', gt: '>', lte: '<=', lt: '<', like: 'like', ilike: 'ilike', match: '~', imatch: '~*' };
const SIMPLE_SQL = { neq: '<>', cs: '@>', cd: '<@', ov: '&&', sl: '<<', sr: '>>', nxr: '&<', nxl: '&>', adj: '-|-' };
const FTS_SQL = { fts: 'to_tsquery', plfts: 'plainto_tsquery', phfts: 'phraseto_tsquery', wfts: 'websearch_to_tsquery' };
const IS_SQL = { null: 'null', not_null: 'not null', true: 'true', false: 'false', unknown: 'unknown' };

function column(node: ReadNode, name: string): Column {
  const col = node.columns.get(name);
  if (!col) throw columnNotFound(node.source.name, name);
  node.used.add(name);
  return col;
}

/** A computed field (a function of the node's table row returning a scalar), callable on this node's source. */
function computedField(ctx: PlanContext, node: ReadNode, name: string): { sql: string; column: Column } | undefined {
  const table = node.source.table;
  // Only on the table itself: a mutation's returned rows are not a row of the table type.
  if (node.columns.has(name) || !table || node.source.sql !== qualified(table.schema, table.name)) return undefined;
  const fn = rowFunction(ctx.cache, table, name);
  if (!fn || fn.returnsSet || fn.returnsComposite || fn.returnsVoid) return undefined;
  const col: Column = { name, type: fn.returnType, baseType: fn.returnType, nullable: true, hasDefault: false, isTsvector: fn.returnType === 'tsvector' };
  return { sql: `${qualified(fn.schema, fn.name)}(${node.alias})`, column: col };
}

/** SQL for a column reference with its JSON path; keys are bind parameters, indexes are integers. */
function fieldSql(ctx: PlanContext, node: ReadNode, field: Field): { sql: string; column: Column } {
  const computed = computedField(ctx, node, field.name);
  const col = computed?.column ?? column(node, field.name);
  let sql = computed?.sql ?? `${node.alias}.${ident(field.name)}`;
  for (const step of field.path) {
    sql += step.arrow + (typeof step.key === 'number' ? String(step.key) : `${ctx.params.add(step.key)}::text`);
  }
  return { sql: field.path.length ? `(${sql})` : sql, column: col };
}

function outputName(field: Field): string {
  const last = field.path[field.path.length - 1];
  return last ? String(last.key) : field.name;
}

function castSql(ctx: PlanContext, sql: string, cast: string | undefined): string {
  if (cast === undefined) return sql;
  const type = cast.trim();
  if (!ctx.cache.castTypes.has(type)) throw new RestError(400, '42704', `type "${type}" does not exist`);
  return `(${sql})::${type}`;
}

function newNode(source: Source, alias: string): ReadNode {
  return {
    source,
    columns: new Map(source.columns.map((c) => [c.name, c])),
    alias,
    items: [],
    embeds: [],
    where: [],
    order: [],
    offset: 0,
    used: new Set(),
  };
}

/**
 * A computed relationship: a function taking a row of the node's table and returning rows (or one row) of a table,
 * embedded as that table's rows for each parent row.
 */
function computedRelationship(ctx: PlanContext, node: ReadNode, name: string): { rel: Relationship; source: Source } | undefined {
  const table = node.source.table;
  if (!table || node.source.sql !== qualified(table.schema, table.name)) return undefined;
  const fn = rowFunction(ctx.cache, table, name);
  const target = fn?.returnsTable ? ctx.cache.tables.get(qualifiedKey(fn.returnsTable.schema, fn.returnsTable.name)) : undefined;
  if (!fn || !target) return undefined;
  const fk = { name: fn.name, schema: table.schema, table: table.name, columns: [], refSchema: target.schema, refTable: target.name, refColumns: [] };
  return {
    rel: { kind: fn.singleRow ? 'many-to-one' : 'one-to-many', target, fk, parentHoldsFk: fn.singleRow, computed: true },
    source: { sql: `${qualified(fn.schema, fn.name)}(${node.alias})`, name: target.name, columns: target.columns, table: target },
  };
}

/** Plans `select` for `source`: columns, casts, JSON paths, and embedded resources found over foreign keys. */
export function planSelect(ctx: PlanContext, source: Source, select: SelectItem[], alias: string, depth = 1): ReadNode {
  const node = newNode(source, alias);
  for (const item of select) {
    if (item.kind === 'star') {
      for (const col of source.columns) {
        node.used.add(col.name);
        node.items.push({ sql: `${alias}.${ident(col.name)}`, name: col.name });
      }
    } else if (item.kind === 'column') {
      const { sql } = fieldSql(ctx, node, item.field);
      if (item.aggregate) {
        aggregatesAllowed(ctx);
        const arg = castSql(ctx, sql, item.cast);
        const apply = (column: string) => castSql(ctx, `pg_catalog.${item.aggregate}(${column})`, item.aggregateCast);
        node.items.push({ sql: apply(arg), name: item.alias ?? item.aggregate, aggregate: true, hoist: { arg, apply } });
      } else {
        node.items.push({ sql: castSql(ctx, sql, item.cast), name: item.alias ?? outputName(item.field) });
      }
    } else if (item.kind === 'count') {
      aggregatesAllowed(ctx);
      // Hoisted out of a to-one spread, count() counts the rows that have a related row (PostgREST counts the row).
      const apply = (column: string) => castSql(ctx, `pg_catalog.count(${column})`, item.cast);
      node.items.push({ sql: apply('*'), name: item.alias ?? 'count', aggregate: true, hoist: { arg: 'true', apply } });
    } else {
      if (!source.table) {
        throw new RestError(
          400,
          'PGRST200',
          `Could not find a relationship between '${source.name}' and '${item.name}' in the schema cache`,
          `Searched for a foreign key relationship between '${source.name}' and '${item.name}' in the schema cache, but no matches were found.`,
        );
      }
      const computed = item.hint === undefined ? computedRelationship(ctx, node, item.name) : undefined;
      const rel = computed?.rel ?? findRelationship(ctx.cache, source.table, item.name, item.hint);
      const target: Source = computed?.source ?? { sql: qualified(rel.target.schema, rel.target.name), name: rel.target.name, columns: rel.target.columns, table: rel.target };
      const key = item.alias ?? item.name;
      // The same name embedded twice: PostgREST's query names both joins alike and Postgres refuses it.
      if (node.embeds.some((e) => e.key === key) && !item.spread) {
        throw new RestError(400, '42712', `table name "${source.name}_${key}_${depth}" specified more than once`);
      }
      const child = planSelect(ctx, target, item.children, ctx.aliases.next(), depth + 1);
      // A spread to-many relationship (PostgREST 13) turns each of its columns into an array.
      if (item.spread && !isToOne(rel) && child.items.some((i) => i.aggregate)) {
        throw new RestError(400, 'PGRST127', 'Feature not implemented', 'Aggregates are not implemented for one-to-many or many-to-many spreads.');
      }
      for (const c of parentJoinColumns(rel)) node.used.add(c);
      node.embeds.push({
        key: item.alias ?? item.name,
        outName: item.alias ?? item.name,
        rel,
        node: child,
        lateral: ctx.aliases.next('l'),
        inner: item.join === 'inner',
        spread: item.spread,
        hidden: item.children.length === 0,
      });
    }
  }
  return node;
}

function findNodeError(node: ReadNode, name: string): unknown {
  try {
    findNode(node, [name]);
  } catch (error) {
    return error;
  }
  return new RestError(400, 'PGRST108', `'${name}' is not an embedded resource in this request`);
}

function findNode(root: ReadNode, path: string[]): ReadNode {
  let node = root;
  for (const name of path) {
    const embed = node.embeds.find((e) => e.key === name);
    if (!embed) {
      const aliased = node.embeds.find((e) => e.rel.target.name === name && e.key !== name);
      throw new RestError(
        400,
        'PGRST108',
        `'${name}' is not an embedded resource in this request`,
        aliased ? 'Target names are not allowed in filters if they have an alias' : null,
        aliased ? `Change '${name}' to '${aliased.key}' in filters, orders or limits.` : `Verify that '${name}' is included in the 'select' query parameter.`,
      );
    }
    node = embed.node;
  }
  return node;
}

/** SQL for one filter; every value is a bind parameter. */
export function filterSql(ctx: PlanContext, node: ReadNode, filter: Filter): string {
  const { sql: f, column: col } = fieldSql(ctx, node, filter.field);
  const o = filter.operation;
  const p = (v: unknown) => ctx.params.add(v);
  let sql: string;
  switch (o.op) {
    case 'is':
      sql = `${f} is ${IS_SQL[o.value]}`;
      break;
    case 'isdistinct':
      sql = `${f} is distinct from ${p(o.value)}`;
      break;
    case 'in':
      sql = o.values.length === 0 ? `${f} = any('{}')` : `${f} = any(${p(o.values)})`;
      break;
    case 'fts':
    case 'plfts':
    case 'phfts':
    case 'wfts': {
      const config = o.config === undefined ? '' : `${p(o.config)}::regconfig, `;
      const vector = col.isTsvector && filter.field.path.length === 0 ? f : `to_tsvector(${config}${f})`;
      sql = `${vector} @@ ${FTS_SQL[o.op]}(${config}${p(o.value)})`;
      break;
    }
    case 'neq':
    case 'cs':
    case 'cd':
    case 'ov':
    case 'sl':
    case 'sr':
    case 'nxr':
    case 'nxl':
    case 'adj':
      sql = `${f} ${SIMPLE_SQL[o.op]} ${p(o.value)}`;
      break;
    default: {
      const value = o.op === 'like' || o.op === 'ilike' ? o.value.replaceAll('*', '%') : o.value;
      sql = o.quant ? `${f} ${QUANT_SQL[o.op]} ${o.quant}(${p(value)})` : `${f} ${QUANT_SQL[o.op]} ${p(value)}`;
    }
  }
  return filter.negate ? `not (${sql})` : sql;
}

/** SQL for an `and`/`or` tree. */
export function logicSql(ctx: PlanContext, node: ReadNode, tree: LogicTree): string {
  if (tree.kind === 'filter') return filterSql(ctx, node, tree.filter);
  const inner = `(${tree.children.map((c) => logicSql(ctx, node, c)).join(` ${tree.op} `)})`;
  return tree.negate ? `not ${inner}` : inner;
}

function orderSql(ctx: PlanContext, node: ReadNode, term: OrderTerm): string {
  let expr: string;
  if (term.relation !== undefined) {
    const embed = node.embeds.find((e) => e.key === term.relation);
    // Not embedded: findNode raises PGRST108 with PostgREST's hint.
    if (!embed) throw findNodeError(node, term.relation);
    if (!isToOne(embed.rel)) {
      throw new RestError(
        400,
        'PGRST118',
        `A related order on '${embed.key}' is not possible`,
        `'${node.source.name}' and '${embed.key}' do not form a many-to-one or one-to-one relationship`,
      );
    }
    // A column a to-one spread outputs is ordered by as its join gives it, as PostgREST does; that also works when
    // the top level aggregates (the column is one of its groups).
    const spreadColumn = embed.spread && term.field.path.length === 0
      ? outputItems(embed.node, true).find((i) => i.name === term.field.name && !i.hoist)
      : undefined;
    if (spreadColumn) return orderTail(`${embed.lateral}.${ident(spreadColumn.name)}`, term);
    const target = embed.rel.target;
    const x = ctx.aliases.next('o');
    const probe = newNode({ sql: '', name: target.name, columns: target.columns }, x);
    const { sql } = fieldSql(ctx, probe, term.field);
    expr = `(select ${sql} from ${qualified(target.schema, target.name)} as ${x} where ${joinCondition(embed.rel, x, node.alias, ctx.aliases)})`;
  } else {
    expr = fieldSql(ctx, node, term.field).sql;
  }
  return orderTail(expr, term);
}

function orderTail(expr: string, term: OrderTerm): string {
  return `${expr}${term.direction ? ` ${term.direction}` : ''}${term.nulls ? ` nulls ${term.nulls}` : ''}`;
}

/**
 * Applies filters, logic trees, orders and ranges of the query string to the planned tree. Filters on an embed
 * path filter that embedded resource; `rel=is.null`/`rel=not.is.null` filter the parent by it.
 * `skipRootFilters` is for mutations, whose top-level filters go into the UPDATE/DELETE instead.
 */
export function applyQuery(ctx: PlanContext, root: ReadNode, query: QueryParams, skipRootFilters = false): void {
  for (const { path, filter } of query.filters) {
    if (skipRootFilters && path.length === 0) continue;
    const node = findNode(root, path);
    const embed = filter.field.path.length === 0 && !node.columns.has(filter.field.name)
      ? node.embeds.find((e) => e.key === filter.field.name)
      : undefined;
    if (embed) {
      const o = filter.operation;
      if (o.op !== 'is' || (o.value !== 'null' && o.value !== 'not_null')) {
        throw new RestError(400, 'PGRST120', `Bad operator on the '${embed.key}' embedded resource`, 'Only is null or not is null filters are allowed on embedded resources');
      }
      const isNull = (o.value === 'null') !== filter.negate;
      embed.nullFilter = isNull ? 'null' : 'not_null';
      continue;
    }
    node.where.push(filterSql(ctx, node, filter));
  }
  for (const { path, tree } of query.logic) {
    if (skipRootFilters && path.length === 0) continue;
    const node = findNode(root, path);
    node.where.push(logicSql(ctx, node, tree));
  }
  for (const { path, terms } of query.order) {
    const node = findNode(root, path);
    node.order.push(...terms.map((t) => orderSql(ctx, node, t)));
  }
  for (const [key, range] of query.ranges) {
    if (key === '') continue;
    const node = findNode(root, key.split('.'));
    node.offset = range.offset;
    node.limit = range.limit;
  }
}

function lateralSql(embed: Embed, parentAlias: string, ctx: PlanContext): string {
  const child = embed.node;
  const cond = joinCondition(embed.rel, child.alias, parentAlias, ctx.aliases);
  const inner = renderQuery(ctx, child, { extraWhere: [cond], existsColumn: embed.spread, hoist: embed.spread && isToOne(embed.rel) });
  const r = ctx.aliases.next('r');
  const join = embed.inner && isToOne(embed.rel) && !embed.spread ? 'inner' : 'left';
  if (embed.spread && !isToOne(embed.rel)) {
    const arrays = outputItems(child).map((i) => `pg_catalog.json_agg(${r}.${ident(i.name)}) as ${ident(i.name)}`);
    arrays.push(`pg_catalog.bool_or(${r}.pgrst_exists) as pgrst_exists`);
    return `left join lateral (select ${arrays.join(', ')} from (${inner}) as ${r}) as ${embed.lateral} on true`;
  }
  if (embed.spread) return `left join lateral (${inner}) as ${embed.lateral} on true`;
  const agg = isToOne(embed.rel) ? `row_to_json(${r})` : `json_agg(${r})`;
  return `${join} join lateral (select ${agg} as body from (${inner}) as ${r}) as ${embed.lateral} on true`;
}

function embedConditions(embed: Embed): string[] {
  const present = embed.spread ? `${embed.lateral}.pgrst_exists is not null` : `${embed.lateral}.body is not null`;
  const out: string[] = [];
  if (embed.inner) out.push(present);
  if (embed.nullFilter === 'not_null') out.push(present);
  if (embed.nullFilter === 'null') out.push(`not (${present})`);
  return out;
}

/**
 * The output columns of a node. A to-one spread's aggregates are hoisted as PostgREST does: the spread selects their
 * arguments, and the nearest node that is not a to-one spread (the top level or a JSON embed) applies them across
 * its rows, grouped by its other columns. `hoist` is set when rendering such a spread.
 */
function outputItems(node: ReadNode, hoist = false): Item[] {
  const items = node.items.map((i) => (hoist && i.hoist ? { sql: i.hoist.arg, name: i.name, hoist: i.hoist } : i));
  for (const embed of node.embeds) {
    if (embed.hidden) continue;
    if (embed.spread && !isToOne(embed.rel)) {
      for (const name of outputItems(embed.node).map((i) => i.name)) {
        items.push({ sql: `coalesce(${embed.lateral}.${ident(name)}, '[]'::json)`, name, json: true });
      }
    } else if (embed.spread) {
      for (const child of outputItems(embed.node, true)) {
        const column = `${embed.lateral}.${ident(child.name)}`;
        if (!child.hoist) items.push({ sql: column, name: child.name, json: child.json });
        else if (hoist) items.push({ sql: column, name: child.name, hoist: child.hoist });
        else items.push({ sql: child.hoist.apply(column), name: child.name, aggregate: true });
      }
    } else if (isToOne(embed.rel)) {
      items.push({ sql: `${embed.lateral}.body`, name: embed.outName, json: true });
    } else {
      items.push({ sql: `coalesce(${embed.lateral}.body, '[]'::json)`, name: embed.outName, json: true });
    }
  }
  return items;
}

/** The output column names of a node, in order (CSV's header row). */
export function outputNames(node: ReadNode): string[] {
  return outputItems(node).map((i) => i.name);
}

/** Options for {@link renderQuery}. */
export interface RenderOptions {
  extraWhere?: string[];
  /** Adds `true as pgrst_exists` (spread embeds need a column that says a row matched). */
  existsColumn?: boolean;
  /** Top level: cap the limit at `max-rows`. */
  maxRows?: number;
  /** A to-one spread: select its aggregates' arguments for the parent to aggregate (see {@link outputItems}). */
  hoist?: boolean;
}

/** The FROM … WHERE part of a node, shared by the page query and its count. */
function fromWhere(ctx: PlanContext, node: ReadNode, options: RenderOptions, forCount: boolean): string {
  const joins = node.embeds
    .filter((e) => !forCount || embedConditions(e).length > 0)
    .map((e) => lateralSql(e, node.alias, ctx));
  const where = [...(options.extraWhere ?? []), ...node.where, ...node.embeds.flatMap(embedConditions)];
  return `from ${node.source.sql} as ${node.alias}${joins.length ? ` ${joins.join(' ')}` : ''}${where.length ? ` where ${where.join(' and ')}` : ''}`;
}

/** `select <items> from … where … order by … limit … offset …` for a node. */
export function renderQuery(ctx: PlanContext, node: ReadNode, options: RenderOptions = {}): string {
  let output = outputItems(node, options.hoist);
  const grouped = output.some((i) => i.aggregate);
  // With an aggregate every other item is a grouping column, as PostgREST groups automatically.
  if (grouped) output = output.map((i) => (i.json ? { ...i, sql: `(${i.sql})::jsonb` } : i));
  const items = output.map((i) => `${i.sql} as ${ident(i.name)}`);
  if (options.existsColumn) items.push('true as pgrst_exists');
  let sql = `select ${items.join(', ')} ${fromWhere(ctx, node, options, false)}`;
  const groupBy = grouped ? output.filter((i) => !i.aggregate).map((i) => i.sql) : [];
  if (groupBy.length) sql += ` group by ${groupBy.join(', ')}`;
  if (node.order.length) sql += ` order by ${node.order.join(', ')}`;
  const limit = options.maxRows !== undefined ? Math.min(node.limit ?? Infinity, options.maxRows) : node.limit;
  if (limit !== undefined && limit !== Infinity) sql += ` limit ${limit}`;
  if (node.offset) sql += ` offset ${node.offset}`;
  return sql;
}

/** `select count(*) …` over the same rows as the page (the groups, when aggregating), without range. */
export function renderCount(ctx: PlanContext, node: ReadNode, options: RenderOptions = {}): string {
  if (outputItems(node, options.hoist).some((i) => i.aggregate)) {
    const { offset, limit } = node;
    node.offset = 0;
    node.limit = undefined;
    const all = renderQuery(ctx, node, options);
    node.offset = offset;
    node.limit = limit;
    return `select pg_catalog.count(*) from (${all}) as pgrst_groups`;
  }
  return `select pg_catalog.count(*) ${fromWhere(ctx, node, options, true)}`;
}
