import { IngestError } from './errors.ts';
import { checkLength, TextBuilder } from './text.ts';
import type { Break, Section } from './types.ts';

/** Elements this deep or shallower get a break with their path; deeper ones split as lines when they must. */
const PATH_DEPTH = 3;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** JSON rendered as the text that is chunked, with a break at each element. */
export interface JsonText {
  /** The value pretty-printed, exactly as `JSON.stringify(value, null, 2)` writes it. */
  text: string;
  sections: Section[];
}

/**
 * JSON: the value pretty-printed with two-space indentation (the text offsets refer to, in the order keys appear
 * in the file), as one section with a break at each object property and nested array element down to three levels, carrying its path (`$`,
 * `$.users[3]`, `$["odd key"].x`), so large arrays are chunked by element and chunks can cite what they hold.
 * Nesting is checked before parsing, because printing recurses.
 */
export function jsonText(source: string, limits: { maxChars: number; maxDepth: number }): JsonText {
  const depth = nestingDepth(source);
  if (depth > limits.maxDepth) {
    throw new IngestError('too_deeply_nested', `This JSON file is nested more than ${limits.maxDepth} levels deep, more than we can read. Simplify its structure, then upload it again.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw new IngestError('corrupt_file', 'This file is not valid JSON, so we could not read it. Check it with a JSON validator or editor, then upload it again.', { cause: error });
  }
  if (isEmpty(value)) throw new IngestError('no_text', 'This JSON file holds no data, so there is nothing to search.');
  const writer = new JsonWriter(limits.maxChars);
  writer.value(value, '', '$', 0);
  const text = writer.toString();
  return { text, sections: [{ text, start: 0, headings: [], breaks: writer.breaks }] };
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value as object).length === 0;
}

/** The deepest nesting of arrays and objects, found without parsing (strings and escapes skipped). */
export function nestingDepth(source: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i);
    if (inString) {
      if (code === 0x5c) i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) inString = true;
    else if (code === 0x5b || code === 0x7b) max = Math.max(max, ++depth);
    else if (code === 0x5d || code === 0x7d) depth--;
  }
  return max;
}

class JsonWriter {
  readonly breaks: Break[] = [{ at: 0, strength: 3, path: '$' }];
  readonly builder = new TextBuilder();

  constructor(private readonly maxChars: number) {}

  value(value: unknown, indent: string, path: string | undefined, depth: number): void {
    if (value === null || typeof value !== 'object') {
      this.write(JSON.stringify(value));
      return;
    }
    const inner = `${indent}  `;
    const array = Array.isArray(value);
    const entries = array ? (value as unknown[]).map((item, i) => [i, item] as const) : Object.entries(value as object);
    if (entries.length === 0) {
      this.write(array ? '[]' : '{}');
      return;
    }
    this.write(array ? '[\n' : '{\n');
    entries.forEach(([key, item], i) => {
      const childPath = path !== undefined && depth < PATH_DEPTH ? childPathOf(path, key) : undefined;
      // Scalars in arrays get no break of their own (a long list of numbers splits by lines anyway); this keeps
      // the number of breaks well below the number of lines.
      if (childPath !== undefined && (!array || (item !== null && typeof item === 'object'))) {
        this.breaks.push({ at: this.builder.length, strength: PATH_DEPTH - depth, path: childPath });
      }
      this.write(array ? inner : `${inner}${JSON.stringify(key)}: `);
      this.value(item, inner, childPath, depth + 1);
      this.write(i < entries.length - 1 ? ',\n' : '\n');
    });
    this.write(`${indent}${array ? ']' : '}'}`);
  }

  toString(): string {
    return this.builder.toString();
  }

  private write(text: string): void {
    this.builder.append(text);
    checkLength(this.builder.length, this.maxChars);
  }
}

function childPathOf(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}
