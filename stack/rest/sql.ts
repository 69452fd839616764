import { RestError } from './errors.ts';

/** Quotes an identifier for SQL. Only ever applied to names taken from the schema cache or the configuration. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** 22021 as Postgres reports a NUL byte in text input; PostgREST answers it with 400. */
export function nulByteError(): RestError {
  return new RestError(400, '22021', 'invalid byte sequence for encoding "UTF8": 0x00');
}

function checkText(value: unknown): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) throw nulByteError();
  } else if (Array.isArray(value)) {
    value.forEach(checkText);
  }
}

/**
 * Bind parameters of one statement: user input only ever reaches SQL through here. Text with a NUL byte is refused
 * as Postgres refuses it (it could not travel in a prepared statement's literal arguments either).
 */
export class Params {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder (`$n`). */
  add(value: unknown): string {
    checkText(value);
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/** Generates distinct SQL aliases within one statement. */
export class Aliases {
  private n = 0;

  next(prefix = 't'): string {
    this.n += 1;
    return ident(`pgrst_${prefix}${this.n}`);
  }
}
