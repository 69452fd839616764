import type { ForeignKey, Table } from './schema-cache.ts';

/** A view column that is a base-table column passed through unchanged. */
export interface ViewColumnSource {
  view: { schema: string; name: string };
  column: string;
  table: { schema: string; name: string };
  tableColumn: string;
}

/** One top-level output column of a view's query, as the rewrite rule records it: `resorigtbl`/`resorigcol`. */
export interface TargetOrigin {
  resname: string;
  table: number;
  column: number;
}

/**
 * Reads the top-level target list of a view's rewrite rule (`pg_rewrite.ev_action`, Postgres' node dump) and returns,
 * for each output column, the base-table column it comes from (`resorigtbl`/`resorigcol`; 0 when computed). Target
 * entries of subqueries are nested deeper and skipped.
 */
export function viewTargets(evAction: string): TargetOrigin[] {
  const listAt = topLevelField(evAction, ':targetList');
  if (listAt < 0) return [];
  const out: TargetOrigin[] = [];
  let depth = 0;
  let entryDepth = -1;
  let current: Partial<TargetOrigin> = {};
  for (let i = listAt; i < evAction.length; i++) {
    const ch = evAction[i];
    if (ch === '(' || ch === '{') {
      depth += 1;
      if (ch === '{' && evAction.startsWith('{TARGETENTRY', i) && entryDepth < 0) {
        entryDepth = depth;
        current = {};
      }
    } else if (ch === ')' || ch === '}') {
      if (depth === entryDepth && ch === '}') {
        if (current.resname !== undefined && current.table !== undefined && current.column !== undefined) out.push(current as TargetOrigin);
        entryDepth = -1;
      }
      depth -= 1;
      // The target list itself has closed.
      if (depth < 0) break;
    } else if (ch === ':' && depth === entryDepth) {
      const m = /^:(resname|resorigtbl|resorigcol) (\S+)/.exec(evAction.slice(i, i + 200));
      if (m) {
        if (m[1] === 'resname') current.resname = m[2].replace(/\\(.)/g, '$1');
        if (m[1] === 'resorigtbl') current.table = Number(m[2]);
        if (m[1] === 'resorigcol') current.column = Number(m[2]);
      }
    }
  }
  return out;
}

/** Position just after `field` among the fields of the outermost `{QUERY …}` node, or -1. */
function topLevelField(text: string, field: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(' || ch === '{') depth += 1;
    else if (ch === ')' || ch === '}') depth -= 1;
    // Depth 2: inside the rule's action list `(` and its first `{QUERY`.
    else if (depth === 2 && ch === ':' && text.startsWith(`${field} `, i)) return i + field.length + 1;
  }
  return -1;
}

function mapColumns(
  sources: ViewColumnSource[],
  view: { schema: string; name: string },
  table: { schema: string; name: string },
  columns: string[],
): string[] | undefined {
  const mapped = columns.map(
    (c) =>
      sources.find(
        (s) => s.view.schema === view.schema && s.view.name === view.name && s.table.schema === table.schema && s.table.name === table.name &&
          s.tableColumn === c,
      )?.column,
  );
  return mapped.every((c) => c !== undefined) ? (mapped as string[]) : undefined;
}

/**
 * Foreign keys as PostgREST infers them through views: a view that passes through every column of a key on either
 * side stands in for that table, so embedding works between views and tables in every combination.
 */
export function foreignKeysThroughViews(foreignKeys: ForeignKey[], sources: ViewColumnSource[]): ForeignKey[] {
  const viewsOf = (schema: string, name: string) => {
    const seen = new Map<string, { schema: string; name: string }>();
    for (const s of sources) {
      if (s.table.schema === schema && s.table.name === name) seen.set(`${s.view.schema}.${s.view.name}`, s.view);
    }
    return [...seen.values()];
  };
  const out: ForeignKey[] = [];
  for (const fk of foreignKeys) {
    const froms = [{ schema: fk.schema, name: fk.table, columns: fk.columns }];
    for (const v of viewsOf(fk.schema, fk.table)) {
      const cols = mapColumns(sources, v, { schema: fk.schema, name: fk.table }, fk.columns);
      if (cols) froms.push({ ...v, columns: cols });
    }
    const tos = [{ schema: fk.refSchema, name: fk.refTable, columns: fk.refColumns }];
    for (const v of viewsOf(fk.refSchema, fk.refTable)) {
      const cols = mapColumns(sources, v, { schema: fk.refSchema, name: fk.refTable }, fk.refColumns);
      if (cols) tos.push({ ...v, columns: cols });
    }
    froms.forEach((from, i) =>
      tos.forEach((to, j) => {
        if (i === 0 && j === 0) return;
        out.push({ name: fk.name, schema: from.schema, table: from.name, columns: from.columns, refSchema: to.schema, refTable: to.name, refColumns: to.columns });
      }),
    );
  }
  return out;
}

/** Primary key and unique column sets of the base table, carried over to a view that passes them all through. */
export function keysThroughViews(tables: Map<string, Table>, sources: ViewColumnSource[]): void {
  for (const view of tables.values()) {
    if (view.kind !== 'view') continue;
    const mine = sources.filter((s) => s.view.schema === view.schema && s.view.name === view.name);
    const bases = new Set(mine.map((s) => `${s.table.schema}.${s.table.name}`));
    for (const key of bases) {
      const base = tables.get(key);
      if (!base || base.kind !== 'table') continue;
      for (const unique of base.uniques) {
        const cols = mapColumns(sources, view, base, unique);
        if (cols && !view.uniques.some((u) => u.join() === cols.join())) view.uniques.push(cols);
      }
      if (view.pk.length === 0) view.pk = mapColumns(sources, view, base, base.pk) ?? [];
    }
  }
}
