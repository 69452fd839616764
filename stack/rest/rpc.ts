import { RestError } from './errors.ts';
import type { Source } from './read-plan.ts';
import { qualifiedKey, type Routine, type SchemaCache } from './schema-cache.ts';
import { ident, type Params, qualified } from './sql.ts';

/** How the arguments of a call arrive. */
export type RpcArgs =
  | { kind: 'json'; body: unknown; text?: string }
  | { kind: 'query'; args: Array<[string, string]> };

const JSON_TYPES = new Set(['json', 'jsonb']);

function singleUnnamedJson(routine: Routine): boolean {
  return routine.params.length === 1 && routine.params[0].name === '' && JSON_TYPES.has(routine.params[0].type);
}

/** Looks a function up by name and argument names the way PostgREST does; PGRST202 if none fits, PGRST203 if several. */
export function resolveRoutine(cache: SchemaCache, schema: string, name: string, args: RpcArgs): Routine {
  const overloads = cache.routines.get(qualifiedKey(schema, name)) ?? [];
  const keys = args.kind === 'json'
    ? typeof args.body === 'object' && args.body !== null && !Array.isArray(args.body) ? Object.keys(args.body) : []
    : [...new Set(args.args.map(([k]) => k))];
  const named = overloads.filter((r) => {
    const names = r.params.map((p) => p.name);
    return keys.every((k) => names.includes(k)) && r.params.every((p) => !p.required || keys.includes(p.name));
  });
  const candidates = named.length > 0 ? named : args.kind === 'json' ? overloads.filter(singleUnnamedJson) : [];
  if (candidates.length === 1) return candidates[0];
  if (candidates.length > 1) {
    const list = candidates.map((r) => `${r.schema}.${r.name}(${r.params.map((p) => `${p.name} => ${p.type}`).join(', ')})`);
    throw new RestError(
      300,
      'PGRST203',
      `Could not choose the best candidate function between: ${list.join(', ')}`,
      null,
      'Try renaming the parameters or the function itself in the database so function overloading can be resolved',
    );
  }
  const func = `${schema}.${name}`;
  const sorted = [...keys].sort();
  const withParams = sorted.length === 0 ? ' without parameters' : `(${sorted.join(', ')})`;
  const detailParams = sorted.length === 0
    ? ' without parameters'
    : ` with parameter${sorted.length > 1 ? 's' : ''} ${sorted.join(', ')}`;
  throw new RestError(
    404,
    'PGRST202',
    `Could not find the function ${func}${withParams} in the schema cache`,
    `Searched for the function ${func}${detailParams}${args.kind === 'json' ? ' or with a single unnamed json/jsonb parameter' : ''}, but no matches were found in the schema cache.`,
  );
}

/** `"schema"."fn"(name := value, …)`, every value a bind parameter cast to the parameter's catalog type. */
export function callSql(routine: Routine, args: RpcArgs, params: Params): string {
  const fn = qualified(routine.schema, routine.name);
  if (args.kind === 'json' && singleUnnamedJson(routine) && !routine.params.some((p) => p.name !== '')) {
    return `${fn}(${params.add(args.text ?? '{}')}::${routine.params[0].type})`;
  }
  const parts: string[] = [];
  if (args.kind === 'json') {
    const body = (args.body ?? {}) as Record<string, unknown>;
    const given = routine.params.filter((p) => Object.hasOwn(body, p.name));
    if (given.length > 0) {
      const record = params.add(args.text ?? JSON.stringify(body));
      for (const p of given) {
        // An unnamed parameter (`rpc('fn', { '': value })`) is read under a name of our own and passed by position.
        const column = p.name === '' ? 'pgrst_unnamed' : ident(p.name);
        const source = p.name === '' ? `pg_catalog.json_build_object('pgrst_unnamed', ${record}::json -> '')` : `${record}::json`;
        const value = `(select pgrst_args.${column} from pg_catalog.json_to_record(${source}) as pgrst_args(${column} ${p.type}))`;
        parts.push(`${p.variadic ? 'variadic ' : ''}${p.name === '' ? '' : `${ident(p.name)} := `}${value}`);
      }
    }
  } else {
    const values = new Map(args.args);
    for (const p of routine.params) {
      if (!values.has(p.name)) continue;
      parts.push(`${p.variadic ? 'variadic ' : ''}${p.name === '' ? '' : `${ident(p.name)} := `}${params.add(values.get(p.name))}::${p.type}`);
    }
  }
  return `${fn}(${parts.join(', ')})`;
}

/** A function returning rows, as a source for the read planner (so select, filters, order and embedding apply). */
export function routineSource(cache: SchemaCache, routine: Routine, call: string): Source {
  const table = routine.returnsTable ? cache.tables.get(qualifiedKey(routine.returnsTable.schema, routine.returnsTable.name)) : undefined;
  return { sql: call, name: routine.name, columns: table?.columns ?? routine.outColumns, table };
}
