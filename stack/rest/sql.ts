/** Quotes an identifier for SQL. Only ever applied to names taken from the schema cache or the configuration. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${ident(schema)}.${ident(name)}`;
}

/** Bind parameters of one statement: user input only ever reaches SQL through here. */
export class Params {
  readonly values: unknown[] = [];

  /** Adds a value and returns its placeholder (`$n`). */
  add(value: unknown): string {
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
