import { RestError } from './errors.ts';
import { qualifiedKey, type ForeignKey, type SchemaCache, type Table } from './schema-cache.ts';
import { ident, qualified, type Aliases } from './sql.ts';

/** How an embedded resource relates to its parent, found over foreign keys as PostgREST does. */
export interface Relationship {
  kind: 'many-to-one' | 'one-to-many' | 'one-to-one' | 'many-to-many';
  target: Table;
  /** The foreign key joining parent and target (for many-to-many: junction → parent). */
  fk: ForeignKey;
  /** True when the parent holds the foreign key columns (many-to-one, or one-to-one from the referencing side). */
  parentHoldsFk: boolean;
  junction?: { table: Table; targetFk: ForeignKey };
  /** A computed relationship: a function of the parent row returning the target's rows (no join condition). */
  computed?: boolean;
}

/** True when the relationship yields at most one row per parent (an object, not an array). */
export function isToOne(rel: Relationship): boolean {
  return rel.kind === 'many-to-one' || rel.kind === 'one-to-one';
}

function sameCols(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((c) => b.includes(c));
}

function isUnique(table: Table, columns: string[]): boolean {
  return table.uniques.some((u) => sameCols(u, columns));
}

function describe(rel: Relationship, parent: Table): Record<string, string> {
  const fmt = (t: string, cols: string[]) => `${t}(${cols.join(', ')})`;
  if (rel.junction) {
    return {
      cardinality: rel.kind,
      embedding: `${parent.name} with ${rel.target.name}`,
      relationship: `${rel.junction.table.name} using ${fmt(rel.fk.name, rel.fk.columns)} and ${fmt(rel.junction.targetFk.name, rel.junction.targetFk.columns)}`,
    };
  }
  return {
    cardinality: rel.kind,
    embedding: `${parent.name} with ${rel.target.name}`,
    relationship: `${rel.fk.name} using ${fmt(rel.fk.table, rel.fk.columns)} and ${fmt(rel.fk.refTable, rel.fk.refColumns)}`,
  };
}

function matchesHint(rel: Relationship, hint: string): boolean {
  if (rel.junction) return hint === rel.junction.table.name || hint === rel.fk.name || hint === rel.junction.targetFk.name;
  return hint === rel.fk.name || sameCols(rel.fk.columns, [hint]) || sameCols(rel.fk.refColumns, [hint]);
}

/**
 * Finds the relationship `parent` → `name` (a table, or a foreign key name / column of the parent), narrowed by
 * `hint`. Throws PGRST200 when there is none and PGRST201 (300) when more than one remains.
 */
export function findRelationship(cache: SchemaCache, parent: Table, name: string, hint: string | undefined): Relationship {
  const candidates: Relationship[] = [];
  const tableIn = (schema: string, table: string) => cache.tables.get(qualifiedKey(schema, table));
  for (const fk of cache.foreignKeys) {
    // The parent references the target.
    if (fk.schema === parent.schema && fk.table === parent.name) {
      const target = tableIn(fk.refSchema, fk.refTable);
      const byName = fk.refSchema === parent.schema && fk.refTable === name;
      const byFk = fk.name === name || sameCols(fk.columns, [name]);
      // A self-reference is one key with two directions: its column or constraint name reaches the parent row
      // (to-one), the table's own name the child rows (to-many), as PostgREST tells them apart.
      const selfByName = byName && !byFk && fk.schema === fk.refSchema && fk.table === fk.refTable;
      if (target && (byName || byFk) && !selfByName) {
        const oneToOne = isUnique(parent, fk.columns);
        candidates.push({ kind: oneToOne ? 'one-to-one' : 'many-to-one', target, fk, parentHoldsFk: true });
      }
    }
    // The target references the parent; named by table, or by the constraint (`alias:fk_name(*)`), except on a
    // self-reference, where a constraint name stands for the parent's own (to-one) side.
    const selfReference = fk.schema === fk.refSchema && fk.table === fk.refTable;
    const reverseByFk = fk.name === name && !selfReference;
    if (fk.refSchema === parent.schema && fk.refTable === parent.name && ((fk.schema === parent.schema && fk.table === name) || reverseByFk)) {
      const target = tableIn(fk.schema, fk.table);
      if (target) {
        const oneToOne = isUnique(target, fk.columns);
        candidates.push({ kind: oneToOne ? 'one-to-one' : 'one-to-many', target, fk, parentHoldsFk: false });
      }
    }
  }
  // Many-to-many through a junction whose two foreign keys are part of one of its keys.
  const target = tableIn(parent.schema, name);
  if (target) {
    for (const junction of cache.tables.values()) {
      if (junction.schema !== parent.schema) continue;
      const toParent = cache.foreignKeys.filter(
        (fk) => fk.schema === junction.schema && fk.table === junction.name && fk.refSchema === parent.schema && fk.refTable === parent.name,
      );
      const toTarget = cache.foreignKeys.filter(
        (fk) => fk.schema === junction.schema && fk.table === junction.name && fk.refSchema === target.schema && fk.refTable === target.name,
      );
      for (const a of toParent) {
        for (const b of toTarget) {
          if (a.name === b.name) continue;
          const cols = [...a.columns, ...b.columns];
          if (!junction.uniques.some((u) => cols.every((c) => u.includes(c)))) continue;
          candidates.push({ kind: 'many-to-many', target, fk: a, parentHoldsFk: false, junction: { table: junction, targetFk: b } });
        }
      }
    }
  }
  const matching = hint === undefined ? candidates : candidates.filter((rel) => matchesHint(rel, hint));
  if (matching.length === 1) return matching[0];
  if (matching.length === 0) {
    throw new RestError(
      400,
      'PGRST200',
      `Could not find a relationship between '${parent.name}' and '${name}' in the schema cache`,
      `Searched for a foreign key relationship between '${parent.name}' and '${name}${hint === undefined ? '' : `' using the hint '${hint}`}' in the schema '${parent.schema}', but no matches were found.`,
    );
  }
  const hints = matching.map((rel) => `'${name}!${rel.junction ? rel.junction.table.name : rel.fk.name}'`).join(', ');
  throw new RestError(
    300,
    'PGRST201',
    `Could not embed because more than one relationship was found for '${parent.name}' and '${name}'`,
    matching.map((rel) => describe(rel, parent)),
    `Try changing '${name}' to one of the following: ${hints}. Find the desired relationship in the 'details' key.`,
  );
}

/** The SQL condition joining rows of the target (alias `child`) to their parent row (alias `parent`). */
export function joinCondition(rel: Relationship, child: string, parent: string, aliases: Aliases): string {
  if (rel.computed) return 'true';
  const pairs = (left: string, leftCols: string[], right: string, rightCols: string[]) =>
    leftCols.map((c, i) => `${left}.${ident(c)} = ${right}.${ident(rightCols[i])}`).join(' and ');
  if (rel.junction) {
    const j = aliases.next('j');
    const { table, targetFk } = rel.junction;
    return `exists (select 1 from ${qualified(table.schema, table.name)} as ${j} where ${pairs(j, rel.fk.columns, parent, rel.fk.refColumns)} and ${pairs(j, targetFk.columns, child, targetFk.refColumns)})`;
  }
  return rel.parentHoldsFk
    ? pairs(child, rel.fk.refColumns, parent, rel.fk.columns)
    : pairs(child, rel.fk.columns, parent, rel.fk.refColumns);
}

/** Parent columns a join needs (so a mutation's RETURNING includes them). */
export function parentJoinColumns(rel: Relationship): string[] {
  if (rel.computed) return [];
  return rel.parentHoldsFk ? rel.fk.columns : rel.fk.refColumns;
}
