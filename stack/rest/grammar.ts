import { parseError, RestError } from './errors.ts';

/** One step of a JSON path: `->key` / `->>key` (a number is an array index). */
export interface JsonStep {
  arrow: '->' | '->>';
  key: string | number;
}

/** A column reference with an optional JSON path, e.g. `data->a->>b`. */
export interface Field {
  name: string;
  path: JsonStep[];
}

/** Aggregate functions PostgREST accepts in `select` (when the project enables them). */
export const AGGREGATES = ['count', 'sum', 'avg', 'max', 'min'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** An item of `select`. */
export type SelectItem =
  | { kind: 'star' }
  | {
      kind: 'column';
      field: Field;
      alias?: string;
      /** Cast of the value (of the aggregate's input when `aggregate` is set). */
      cast?: string;
      aggregate?: Aggregate;
      /** Cast of the aggregate's result: `col.avg()::int`. */
      aggregateCast?: string;
    }
  /** `count()` without a column: the number of rows (of each group). */
  | { kind: 'count'; alias?: string; cast?: string }
  | {
      kind: 'embed';
      name: string;
      alias?: string;
      hint?: string;
      join?: 'inner' | 'left';
      spread: boolean;
      children: SelectItem[];
    };

/** True when `select` (or an embedded resource's) has an aggregate: `count()` or `col.fn()`. */
export function usesAggregates(items: SelectItem[]): boolean {
  return items.some((i) => i.kind === 'count' || (i.kind === 'column' && i.aggregate !== undefined) || (i.kind === 'embed' && usesAggregates(i.children)));
}

/** Operators that take one value and accept `(any)`/`(all)`. */
export const QUANT_OPS = ['eq', 'gte', 'gt', 'lte', 'lt', 'like', 'ilike', 'match', 'imatch'] as const;
/** Operators that take one value. */
export const SIMPLE_OPS = ['neq', 'cs', 'cd', 'ov', 'sl', 'sr', 'nxr', 'nxl', 'adj'] as const;
/** Full-text search operators. */
export const FTS_OPS = ['fts', 'plfts', 'phfts', 'wfts'] as const;

/** The right-hand side of a filter. */
export type Operation =
  | { op: (typeof QUANT_OPS)[number]; quant?: 'any' | 'all'; value: string }
  | { op: (typeof SIMPLE_OPS)[number]; value: string }
  | { op: 'is'; value: 'null' | 'not_null' | 'true' | 'false' | 'unknown' }
  | { op: 'isdistinct'; value: string }
  | { op: 'in'; values: string[] }
  | { op: (typeof FTS_OPS)[number]; config?: string; value: string };

/** `field=[not.]op.value` */
export interface Filter {
  field: Field;
  negate: boolean;
  operation: Operation;
}

/** `or=(…)`, `and=(…)` and their nested forms. */
export type LogicTree =
  | { kind: 'logic'; negate: boolean; op: 'and' | 'or'; children: LogicTree[] }
  | { kind: 'filter'; filter: Filter };

/** One `order` term. */
export interface OrderTerm {
  /** Set for `rel(col)`: order by a column of a to-one embedded resource. */
  relation?: string;
  field: Field;
  direction?: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

/** Everything the query string says, keyed by embed path (`[]` is the top level). */
export interface QueryParams {
  select: SelectItem[];
  filters: Array<{ path: string[]; filter: Filter }>;
  logic: Array<{ path: string[]; tree: LogicTree }>;
  order: Array<{ path: string[]; terms: OrderTerm[] }>;
  ranges: Map<string, { offset: number; limit?: number }>;
  columns?: string[];
  onConflict?: string[];
  /** Parameters without an operator: the arguments of a function called with GET. */
  rpcArgs: Array<[string, string]>;
}

/** A tiny recursive-descent reader over one parameter value, reporting PostgREST-style PGRST100 errors. */
class Reader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly what: string,
  ) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(n = 0): string {
    return this.text[this.pos + n] ?? '';
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos);
  }
  eat(s: string): boolean {
    if (!this.startsWith(s)) return false;
    this.pos += s.length;
    return true;
  }
  fail(expecting: string): never {
    const found = this.done ? 'end of input' : JSON.stringify(this.peek());
    throw parseError(this.what, this.text, this.pos + 1, `unexpected ${found} expecting ${expecting}`);
  }
  expect(s: string): void {
    if (!this.eat(s)) this.fail(JSON.stringify(s));
  }
}

const IDENT_CHAR = /[\p{L}\p{N}_ $]/u;

/** `"quoted"` with `\"`/`\\` escapes. */
function readQuoted(r: Reader): string {
  r.expect('"');
  let out = '';
  while (!r.done && r.peek() !== '"') {
    if (r.peek() === '\\' && (r.peek(1) === '"' || r.peek(1) === '\\')) r.pos += 1;
    out += r.peek();
    r.pos += 1;
  }
  r.expect('"');
  return out;
}

/** A field name: quoted, or identifier characters with single hyphens that do not start `->`. */
function readName(r: Reader, expecting = 'field name'): string {
  if (r.peek() === '"') return readQuoted(r);
  let out = '';
  for (;;) {
    const c = r.peek();
    if (c && IDENT_CHAR.test(c)) {
      out += c;
      r.pos += 1;
    } else if (c === '-' && r.peek(1) !== '>' && out !== '' && IDENT_CHAR.test(r.peek(1))) {
      out += c;
      r.pos += 1;
    } else break;
  }
  if (out === '') r.fail(expecting);
  return out;
}

function readJsonPath(r: Reader): JsonStep[] {
  const path: JsonStep[] = [];
  while (r.startsWith('->')) {
    const arrow = r.eat('->>') ? '->>' : (r.eat('->'), '->');
    const idx = /^-?\d+/.exec(r.text.slice(r.pos));
    if (idx && Number.isSafeInteger(Number(idx[0])) && !IDENT_CHAR.test(r.text[r.pos + idx[0].length] ?? '')) {
      r.pos += idx[0].length;
      path.push({ arrow, key: Number(idx[0]) });
    } else {
      path.push({ arrow, key: readName(r, 'json key') });
    }
  }
  return path;
}

function readField(r: Reader): Field {
  const name = readName(r);
  return { name, path: readJsonPath(r) };
}

// ---------------------------------------------------------------- select

function readSelectList(r: Reader, nested: boolean): SelectItem[] {
  const items: SelectItem[] = [];
  if (nested && r.peek() === ')') return items;
  for (;;) {
    items.push(readSelectItem(r));
    if (!r.eat(',')) break;
  }
  return items;
}

function readSelectItem(r: Reader): SelectItem {
  if (r.eat('*')) return { kind: 'star' };
  const spread = r.eat('...');
  let alias: string | undefined;
  let name = readName(r);
  if (r.peek() === ':' && r.peek(1) !== ':') {
    r.pos += 1;
    alias = name;
    name = readName(r);
  }
  if (name === 'count' && !spread && r.text.startsWith('()', r.pos)) {
    r.pos += 2;
    return { kind: 'count', alias, cast: readCast(r) };
  }
  if (r.peek() === '!' || r.peek() === '(') {
    let hint: string | undefined;
    let join: 'inner' | 'left' | undefined;
    while (r.eat('!')) {
      const word = readName(r, 'embed hint');
      if (word === 'inner' || word === 'left') join = word;
      else hint = word;
    }
    r.expect('(');
    const children = readSelectList(r, true);
    r.expect(')');
    return { kind: 'embed', name, alias, hint, join, spread, children };
  }
  if (spread) r.fail('"(" after a spread relation');
  const path = readJsonPath(r);
  const cast = readCast(r);
  const agg = /^\.(count|sum|avg|max|min)\(\)/.exec(r.text.slice(r.pos));
  if (agg) {
    r.pos += agg[0].length;
    return { kind: 'column', field: { name, path }, alias, cast, aggregate: agg[1] as Aggregate, aggregateCast: readCast(r) };
  }
  return { kind: 'column', field: { name, path }, alias, cast };
}

function readCast(r: Reader): string | undefined {
  if (!r.eat('::')) return undefined;
  const m = /^[A-Za-z0-9_ ]+/.exec(r.text.slice(r.pos));
  if (!m) r.fail('cast type');
  r.pos += m[0].length;
  return m[0];
}

/** Parses `select`, e.g. `id,author:users!fk(name),data->>a::int`. */
export function parseSelect(value: string): SelectItem[] {
  const r = new Reader(value, 'select parameter');
  const items = readSelectList(r, false);
  if (!r.done) r.fail('"," or end of input');
  return items;
}

// ---------------------------------------------------------------- filters

function readOperation(r: Reader, inLogic: boolean): { negate: boolean; operation: Operation } {
  const negate = r.eat('not.');
  const start = r.pos;
  const word = /^[a-z]+/.exec(r.text.slice(r.pos))?.[0] ?? '';
  r.pos += word.length;
  const readValue = (): string => (inLogic ? readLogicValue(r) : readRest(r));
  if ((QUANT_OPS as readonly string[]).includes(word)) {
    let quant: 'any' | 'all' | undefined;
    if (r.eat('(any)')) quant = 'any';
    else if (r.eat('(all)')) quant = 'all';
    r.expect('.');
    return { negate, operation: { op: word as (typeof QUANT_OPS)[number], quant, value: readValue() } };
  }
  if ((SIMPLE_OPS as readonly string[]).includes(word)) {
    r.expect('.');
    return { negate, operation: { op: word as (typeof SIMPLE_OPS)[number], value: readValue() } };
  }
  if ((FTS_OPS as readonly string[]).includes(word)) {
    let config: string | undefined;
    if (r.eat('(')) {
      config = readName(r, 'text search configuration');
      r.expect(')');
    }
    r.expect('.');
    return { negate, operation: { op: word as (typeof FTS_OPS)[number], config, value: readValue() } };
  }
  if (word === 'is') {
    r.expect('.');
    const m = /^(null|not_null|true|false|unknown)/i.exec(r.text.slice(r.pos));
    if (!m) r.fail('null or trilean value (unknown, true, false)');
    r.pos += m[0].length;
    return { negate, operation: { op: 'is', value: m[0].toLowerCase() as 'null' } };
  }
  if (word === 'isdistinct') {
    r.expect('.');
    return { negate, operation: { op: 'isdistinct', value: readValue() } };
  }
  if (word === 'in') {
    r.expect('.');
    return { negate, operation: { op: 'in', values: readList(r) } };
  }
  r.pos = start;
  return r.fail('"not" or operator (eq, gt, ...)');
}

/** Everything left (top-level filter values are taken verbatim). */
function readRest(r: Reader): string {
  const out = r.text.slice(r.pos);
  r.pos = r.text.length;
  return out;
}

/** A value inside `or=(…)`: quoted, a `{…}` array literal, or characters up to `,`/`)`. */
function readLogicValue(r: Reader): string {
  if (r.peek() === '"') return readQuoted(r);
  if (r.peek() === '{') {
    const end = r.text.indexOf('}', r.pos);
    if (end < 0) r.fail('"}"');
    const out = r.text.slice(r.pos, end + 1);
    r.pos = end + 1;
    return out;
  }
  let out = '';
  while (!r.done && r.peek() !== ',' && r.peek() !== ')') {
    out += r.peek();
    r.pos += 1;
  }
  return out;
}

/** `(a,b,"c,d")` */
function readList(r: Reader): string[] {
  r.expect('(');
  const values: string[] = [];
  if (r.eat(')')) return [];
  for (;;) {
    if (r.peek() === '"') values.push(readQuoted(r));
    else {
      let v = '';
      while (!r.done && r.peek() !== ',' && r.peek() !== ')') {
        v += r.peek();
        r.pos += 1;
      }
      values.push(v);
    }
    if (r.eat(')')) break;
    r.expect(',');
  }
  return values;
}

/** Parses a filter value such as `not.in.(1,2)`, `fts(english).cat`, `ilike(any).{a*,b*}`. */
export function parseOperation(value: string): { negate: boolean; operation: Operation } {
  const r = new Reader(value, 'filter');
  const result = readOperation(r, false);
  if (!r.done) r.fail('end of input');
  return result;
}

function readLogicTree(r: Reader): LogicTree[] {
  r.expect('(');
  const children: LogicTree[] = [];
  for (;;) {
    const start = r.pos;
    const negate = r.eat('not.');
    const logic = /^(and|or)\(/.exec(r.text.slice(r.pos));
    if (logic) {
      r.pos += logic[1].length;
      children.push({ kind: 'logic', negate, op: logic[1] as 'and' | 'or', children: readLogicTree(r) });
    } else {
      r.pos = start;
      const field = readField(r);
      r.expect('.');
      const { negate: n, operation } = readOperation(r, true);
      children.push({ kind: 'filter', filter: { field, negate: n, operation } });
    }
    if (r.eat(')')) break;
    r.expect(',');
  }
  return children;
}

/** Parses `or`/`and` values, e.g. `(a.eq.1,and(b.gt.2,c.not.is.null))`. */
export function parseLogic(op: 'and' | 'or', negate: boolean, value: string): LogicTree {
  const r = new Reader(value, 'logic tree');
  const children = readLogicTree(r);
  if (!r.done) r.fail('end of input');
  return { kind: 'logic', negate, op, children };
}

// ---------------------------------------------------------------- order, paths, columns

/** Parses `order`, e.g. `a.desc.nullslast,rel(b),data->>x.asc`. */
export function parseOrder(value: string): OrderTerm[] {
  const r = new Reader(value, 'order');
  const terms: OrderTerm[] = [];
  for (;;) {
    let term: OrderTerm;
    const name = readName(r);
    if (r.eat('(')) {
      term = { relation: name, field: readField(r) };
      r.expect(')');
    } else {
      term = { field: { name, path: readJsonPath(r) } };
    }
    if (r.eat('.asc')) term.direction = 'asc';
    else if (r.eat('.desc')) term.direction = 'desc';
    if (r.eat('.nullsfirst')) term.nulls = 'first';
    else if (r.eat('.nullslast')) term.nulls = 'last';
    terms.push(term);
    if (r.done) break;
    r.expect(',');
  }
  return terms;
}

/** `a.b.col->x` → embed path `[a, b]` and field `col->x`. */
export function parseTreePath(key: string): { path: string[]; field: Field } {
  const r = new Reader(key, 'tree path');
  const names = [readName(r)];
  while (r.eat('.')) names.push(readName(r));
  const path = readJsonPath(r);
  if (!r.done) r.fail('"." or end of input');
  return { path: names.slice(0, -1), field: { name: names[names.length - 1], path } };
}

function parseEmbedPath(key: string): string[] {
  if (key === '') return [];
  const r = new Reader(key, 'tree path');
  const names = [readName(r)];
  while (r.eat('.')) names.push(readName(r));
  if (!r.done) r.fail('"." or end of input');
  return names;
}

/** `columns` and `on_conflict`: comma-separated names, optionally quoted. */
export function parseColumnList(value: string, what: string): string[] {
  const r = new Reader(value, `${what} parameter`);
  const names: string[] = [];
  for (;;) {
    names.push(readName(r, 'column name'));
    if (r.done) break;
    r.expect(',');
  }
  return names;
}

function parseNonNegative(value: string, what: 'limit' | 'offset'): number {
  if (!/^\d+$/.test(value)) {
    if (/^-\d+$/.test(value) && what === 'limit') {
      throw new RestError(416, 'PGRST103', 'Requested range not satisfiable', 'Limit should be greater than or equal to zero.');
    }
    throw parseError(what, value, 1, 'unexpected input expecting a non-negative integer');
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw parseError(what, value, 1, 'unexpected input expecting a smaller integer');
  return n;
}

const EMBEDDABLE = ['order', 'limit', 'offset', 'and', 'or'];

/**
 * Splits a query string into PostgREST's parts. `rpcRead` is true for GET/HEAD on `/rpc/fn`, where a parameter whose
 * value is not a filter is a function argument.
 */
export function parseQuery(search: URLSearchParams, rpcRead: boolean): QueryParams {
  const result: QueryParams = { select: [{ kind: 'star' }], filters: [], logic: [], order: [], ranges: new Map(), rpcArgs: [] };
  const limits = new Map<string, number>();
  const offsets = new Map<string, number>();
  for (const [key, value] of search) {
    if (key === 'select') {
      result.select = value === '' ? [] : parseSelect(value);
      continue;
    }
    if (key === 'columns') {
      result.columns = parseColumnList(value, 'columns');
      continue;
    }
    if (key === 'on_conflict') {
      result.onConflict = parseColumnList(value, 'on_conflict');
      continue;
    }
    const parts = key.split('.');
    const last = parts[parts.length - 1];
    if (EMBEDDABLE.includes(last)) {
      let prefix = parts.slice(0, -1);
      if (last === 'and' || last === 'or') {
        let negate = false;
        if (prefix[prefix.length - 1] === 'not') {
          negate = true;
          prefix = prefix.slice(0, -1);
        }
        result.logic.push({ path: parseEmbedPath(prefix.join('.')), tree: parseLogic(last, negate, value) });
      } else if (last === 'order') {
        if (value !== '') result.order.push({ path: parseEmbedPath(prefix.join('.')), terms: parseOrder(value) });
      } else if (value !== '') {
        (last === 'limit' ? limits : offsets).set(prefix.join('.'), parseNonNegative(value, last as 'limit' | 'offset'));
      }
      continue;
    }
    if (rpcRead) {
      let op: { negate: boolean; operation: Operation } | undefined;
      try {
        op = parseOperation(value);
      } catch {
        op = undefined;
      }
      if (!op) {
        result.rpcArgs.push([key, value]);
        continue;
      }
      const { path, field } = parseTreePath(key);
      result.filters.push({ path, filter: { field, ...op } });
      continue;
    }
    const { path, field } = parseTreePath(key);
    const { negate, operation } = parseOperation(value);
    result.filters.push({ path, filter: { field, negate, operation } });
  }
  for (const key of new Set([...limits.keys(), ...offsets.keys()])) {
    result.ranges.set(key, { offset: offsets.get(key) ?? 0, limit: limits.get(key) });
  }
  return result;
}
