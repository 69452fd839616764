import type pg from 'pg';
import { foreignKeysThroughViews, keysThroughViews, type ViewColumnSource, viewTargets } from './view-columns.ts';

/** A column as the Data API sees it. */
export interface Column {
  name: string;
  /** `format_type(atttypid, atttypmod)`, e.g. `text`, `character varying(20)`, `extensions.vector(3)`. */
  type: string;
  /** `format_type(atttypid, null)`: safe to use in a cast. */
  baseType: string;
  nullable: boolean;
  hasDefault: boolean;
  /** `tsvector` columns are searched as they are; others are wrapped in `to_tsvector`. */
  isTsvector: boolean;
}

/** A table, view, materialized view or foreign table of an exposed schema. */
export interface Table {
  schema: string;
  name: string;
  kind: 'table' | 'view';
  columns: Column[];
  columnMap: Map<string, Column>;
  pk: string[];
  /** Column sets that are unique (primary key and unique constraints). */
  uniques: string[][];
}

/** A foreign key between two relations; either side may be outside the exposed schemas. */
export interface ForeignKey {
  name: string;
  schema: string;
  table: string;
  columns: string[];
  refSchema: string;
  refTable: string;
  refColumns: string[];
}

/** A parameter of a function. */
export interface RoutineParam {
  name: string;
  type: string;
  required: boolean;
  variadic: boolean;
}

/** A function callable through `/rpc`. */
export interface Routine {
  schema: string;
  name: string;
  params: RoutineParam[];
  /** `format_type` of the return type. */
  returnType: string;
  returnsSet: boolean;
  returnsVoid: boolean;
  /** Returns rows (a table type, a composite type, `returns table`, or OUT parameters). */
  returnsComposite: boolean;
  /** The table whose row type it returns, for embedding from its result. */
  returnsTable?: { schema: string; name: string };
  /** The output columns when it returns a composite without a table (e.g. `returns table (…)`). */
  outColumns: Column[];
  volatility: 'immutable' | 'stable' | 'volatile';
  /**
   * The table whose row is the function's only parameter: such a function is a computed field of that table (when it
   * returns a scalar) or a computed relationship (when it returns rows of a table).
   */
  rowArg?: { schema: string; name: string };
  /** Declared with `rows 1`: as a computed relationship, to-one. */
  singleRow: boolean;
}

/** What PostgREST calls the schema cache: every identifier the Data API may put into SQL comes from here. */
export interface SchemaCache {
  schemas: string[];
  tables: Map<string, Table>;
  foreignKeys: ForeignKey[];
  routines: Map<string, Routine[]>;
  /** Type names that may appear in `::cast` in `select`. */
  castTypes: Set<string>;
}

/** The function `name` taking one row of `table`, in the table's schema (PostgREST's computed fields and relationships). */
export function rowFunction(cache: SchemaCache, table: Table, name: string): Routine | undefined {
  return cache.routines
    .get(qualifiedKey(table.schema, name))
    ?.find((r) => r.rowArg?.schema === table.schema && r.rowArg.name === table.name);
}

/** Key of a relation or routine in the cache maps. */
export function qualifiedKey(schema: string, name: string): string {
  return `${schema}.${name}`;
}

type Queryable = Pick<pg.ClientBase, 'query'>;

const TABLES_SQL = `
select n.nspname as schema, c.relname as name, c.relkind::text as kind,
       coalesce((select json_agg(json_build_object(
                   'name', a.attname,
                   'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                   'baseType', pg_catalog.format_type(a.atttypid, null),
                   'nullable', not a.attnotnull,
                   'hasDefault', a.atthasdef or a.attidentity <> '' or a.attgenerated <> '',
                   'isTsvector', a.atttypid = 'pg_catalog.tsvector'::regtype) order by a.attnum)
                 from pg_catalog.pg_attribute a
                where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]') as columns,
       coalesce((select json_agg((select array_agg(a.attname::text order by k.ord)
                                    from unnest(con.conkey) with ordinality k(attnum, ord)
                                    join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum)
                   order by con.contype, con.conname)
                 from pg_catalog.pg_constraint con
                where con.conrelid = c.oid and con.contype in ('p', 'u')), '[]') as uniques,
       (select array_agg(a.attname::text order by k.ord)
          from pg_catalog.pg_constraint con
          cross join unnest(con.conkey) with ordinality k(attnum, ord)
          join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
         where con.conrelid = c.oid and con.contype = 'p') as pk
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where n.nspname = any($1::text[]) and c.relkind in ('r', 'v', 'm', 'f', 'p')`;

const VIEWS_SQL = `
select c.oid::int8::text as oid, n.nspname as schema, c.relname as name, r.ev_action::text as action,
       n.nspname = any($1::text[]) as exposed
  from pg_catalog.pg_rewrite r
  join pg_catalog.pg_class c on c.oid = r.ev_class
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('v', 'm') and r.rulename = '_RETURN' and n.nspname = any($2::text[])`;

const COLUMN_NAMES_SQL = `
select c.oid::int8 as oid, n.nspname as schema, c.relname as name, a.attnum::int as attnum, a.attname as column
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
 where c.oid = any($1::oid[])`;

/** How deep a chain of views over views is followed, as a guard (a view cannot reference itself). */
const MAX_VIEW_DEPTH = 64;

/**
 * Which base-table column each view column of the exposed schemas passes through (for relationships and keys through
 * views). As in PostgREST, a chain of views is followed down to its table through views in the exposed schemas and
 * `extra_search_path`: a view's rewrite rule names the relation it selects from, which may be another view.
 */
async function viewColumnSources(db: Queryable, schemas: string[], searched: string[]): Promise<ViewColumnSource[]> {
  const { rows: views } = await db.query<{ oid: string; schema: string; name: string; action: string; exposed: boolean }>(VIEWS_SQL, [
    schemas,
    [...new Set([...schemas, ...searched])],
  ]);
  const byOid = new Map(views.map((v) => [v.oid, { ...v, targets: viewTargets(v.action).filter((t) => t.table > 0) }]));
  const oids = [...new Set([...byOid.values()].flatMap((v) => v.targets.map((t) => t.table)))];
  if (oids.length === 0) return [];
  const { rows } = await db.query<{ oid: string; schema: string; name: string; attnum: number; column: string }>(COLUMN_NAMES_SQL, [oids]);
  const byKey = new Map(rows.map((r) => [`${r.oid}:${r.attnum}`, r]));
  /** The relation column under a view column: through inner views until a relation that is not a searched view. */
  const origin = (viewOid: string, column: string, depth: number): { oid: number; attnum: number } | undefined => {
    const target = byOid.get(viewOid)?.targets.find((t) => t.resname === column);
    if (!target) return undefined;
    const inner = String(target.table);
    if (!byOid.has(inner)) return { oid: target.table, attnum: target.column };
    const innerColumn = byKey.get(`${inner}:${target.column}`)?.column;
    return innerColumn === undefined || depth >= MAX_VIEW_DEPTH ? undefined : origin(inner, innerColumn, depth + 1);
  };
  return [...byOid.values()]
    .filter((v) => v.exposed)
    .flatMap((v) =>
      v.targets.flatMap((t) => {
        const found = origin(v.oid, t.resname, 0);
        const base = found && byKey.get(`${found.oid}:${found.attnum}`);
        return base ? [{ view: { schema: v.schema, name: v.name }, column: t.resname, table: { schema: base.schema, name: base.name }, tableColumn: base.column }] : [];
      }),
    );
}

const FKS_SQL = `
select con.conname as name, n1.nspname as schema, c1.relname as table,
       (select array_agg(a.attname::text order by k.ord) from unnest(con.conkey) with ordinality k(attnum, ord)
          join pg_catalog.pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) as columns,
       n2.nspname as ref_schema, c2.relname as ref_table,
       (select array_agg(a.attname::text order by k.ord) from unnest(con.confkey) with ordinality k(attnum, ord)
          join pg_catalog.pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum) as ref_columns
  from pg_catalog.pg_constraint con
  join pg_catalog.pg_class c1 on c1.oid = con.conrelid
  join pg_catalog.pg_namespace n1 on n1.oid = c1.relnamespace
  join pg_catalog.pg_class c2 on c2.oid = con.confrelid
  join pg_catalog.pg_namespace n2 on n2.oid = c2.relnamespace
 where con.contype = 'f' and (n1.nspname = any($1::text[]) or n2.nspname = any($1::text[]))
 order by con.conname`;

const ROUTINES_SQL = `
select n.nspname as schema, p.proname as name, p.provolatile::text as volatility, p.proretset as returns_set,
       pg_catalog.format_type(p.prorettype, null) as return_type,
       t.typtype::text as ret_typtype, rn.nspname as ret_schema, rc.relname as ret_table,
       coalesce(p.proargnames, '{}') as arg_names,
       coalesce(p.proargmodes::text[], '{}') as arg_modes,
       (select coalesce(array_agg(pg_catalog.format_type(x, null) order by o), '{}')
          from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) with ordinality u(x, o)) as arg_types,
       p.pronargs as nargs, p.pronargdefaults as ndefaults, p.provariadic <> 0 as variadic, p.prorows::float8 as est_rows,
       (select json_build_object('schema', an.nspname, 'name', ac.relname)
          from pg_catalog.pg_type at
          join pg_catalog.pg_class ac on ac.oid = at.typrelid
          join pg_catalog.pg_namespace an on an.oid = ac.relnamespace
         where p.pronargs = 1 and at.oid = p.proargtypes[0]) as row_arg
  from pg_catalog.pg_proc p
  join pg_catalog.pg_namespace n on n.oid = p.pronamespace
  join pg_catalog.pg_type t on t.oid = p.prorettype
  left join pg_catalog.pg_class rc on rc.oid = t.typrelid and rc.relkind in ('r', 'v', 'm', 'f', 'p')
  left join pg_catalog.pg_namespace rn on rn.oid = rc.relnamespace
 where n.nspname = any($1::text[]) and p.prokind = 'f'`;

const COMPOSITE_COLUMNS_SQL = `
select pg_catalog.format_type(t.oid, null) as type_name,
       json_agg(json_build_object('name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                                  'baseType', pg_catalog.format_type(a.atttypid, null),
                                  'isTsvector', a.atttypid = 'pg_catalog.tsvector'::regtype) order by a.attnum) as columns
  from pg_catalog.pg_type t
  join pg_catalog.pg_attribute a on a.attrelid = t.typrelid and a.attnum > 0 and not a.attisdropped
 where t.typtype = 'c' and pg_catalog.format_type(t.oid, null) = any($1::text[])
 group by t.oid`;

const TYPES_SQL = `
select distinct name from (
  select t.typname::text as name from pg_catalog.pg_type t
   where t.typtype in ('b', 'd', 'e', 'r', 'm') and t.typelem = 0 or t.typname in ('json', 'jsonb', 'text')
  union all
  select pg_catalog.format_type(t.oid, null) from pg_catalog.pg_type t
   where t.typtype = 'b' and t.typnamespace = 'pg_catalog'::regnamespace and t.typelem = 0
) s where name ~ '^[A-Za-z0-9_ ]+$'`;

/** SQL-standard spellings that are neither a `typname` nor what `format_type` prints. */
const SQL_TYPE_ALIASES = ['int', 'integer', 'float', 'decimal', 'char', 'character', 'timestamp', 'timestamptz', 'time', 'timetz', 'double precision'];

const VOLATILITY = { i: 'immutable', s: 'stable', v: 'volatile' } as const;

/** Reads the schema cache from the catalog of the exposed `schemas` (any role can read `pg_catalog`). */
export async function loadSchemaCache(db: Queryable, schemas: string[], extraSearchPath: string[] = []): Promise<SchemaCache> {
  const tables = new Map<string, Table>();
  const { rows: tableRows } = await db.query(TABLES_SQL, [schemas]);
  for (const row of tableRows) {
    const columns = (row.columns as Column[]).map((c) => ({ ...c }));
    tables.set(qualifiedKey(row.schema, row.name), {
      schema: row.schema,
      name: row.name,
      kind: row.kind === 'r' || row.kind === 'p' ? 'table' : 'view',
      columns,
      columnMap: new Map(columns.map((c) => [c.name, c])),
      pk: row.pk ?? [],
      uniques: (row.uniques as string[][]).filter(Boolean),
    });
  }
  const { rows: fkRows } = await db.query(FKS_SQL, [schemas]);
  const baseForeignKeys: ForeignKey[] = fkRows.map((r) => ({
    name: r.name,
    schema: r.schema,
    table: r.table,
    columns: r.columns,
    refSchema: r.ref_schema,
    refTable: r.ref_table,
    refColumns: r.ref_columns,
  }));
  const viewSources = await viewColumnSources(db, schemas, extraSearchPath);
  keysThroughViews(tables, viewSources);
  const foreignKeys = [...baseForeignKeys, ...foreignKeysThroughViews(baseForeignKeys, viewSources)];

  const routines = new Map<string, Routine[]>();
  const { rows: routineRows } = await db.query(ROUTINES_SQL, [schemas]);
  const compositeNames = new Set<string>();
  for (const r of routineRows) {
    const modes: string[] = r.arg_modes.length ? r.arg_modes : new Array(r.arg_types.length).fill('i');
    const params: RoutineParam[] = [];
    const outColumns: Column[] = [];
    let inIndex = 0;
    r.arg_types.forEach((type: string, i: number) => {
      const mode = modes[i];
      const name: string = r.arg_names[i] ?? '';
      if (mode === 'i' || mode === 'b' || mode === 'v') {
        params.push({ name, type, required: inIndex < r.nargs - r.ndefaults, variadic: mode === 'v' });
        inIndex += 1;
      }
      if (mode === 'o' || mode === 'b' || mode === 't') {
        outColumns.push({ name, type, baseType: type, nullable: true, hasDefault: false, isTsvector: type === 'tsvector' });
      }
    });
    const returnsComposite = r.ret_typtype === 'c' || (r.return_type === 'record' && outColumns.length > 0);
    if (r.ret_typtype === 'c' && !r.ret_table) compositeNames.add(r.return_type);
    const routine: Routine = {
      schema: r.schema,
      name: r.name,
      params,
      returnType: r.return_type,
      returnsSet: r.returns_set,
      returnsVoid: r.return_type === 'void',
      returnsComposite,
      returnsTable: r.ret_table ? { schema: r.ret_schema, name: r.ret_table } : undefined,
      outColumns,
      volatility: VOLATILITY[r.volatility as 'i' | 's' | 'v'],
      rowArg: r.row_arg ?? undefined,
      singleRow: !r.returns_set || Number(r.est_rows) === 1,
    };
    const key = qualifiedKey(r.schema, r.name);
    routines.set(key, [...(routines.get(key) ?? []), routine]);
  }
  if (compositeNames.size > 0) {
    const { rows } = await db.query(COMPOSITE_COLUMNS_SQL, [[...compositeNames]]);
    const byType = new Map(rows.map((row) => [row.type_name as string, row.columns as Column[]]));
    for (const list of routines.values()) {
      for (const routine of list) {
        const cols = byType.get(routine.returnType);
        if (cols && routine.outColumns.length === 0) {
          routine.outColumns = cols.map((c) => ({ ...c, nullable: true, hasDefault: false }));
        }
      }
    }
  }
  const { rows: typeRows } = await db.query(TYPES_SQL);
  const castTypes = new Set([...SQL_TYPE_ALIASES, ...typeRows.map((t) => t.name as string)]);
  return { schemas, tables, foreignKeys, routines, castTypes };
}
