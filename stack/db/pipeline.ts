import pg from 'pg';

/** A column of a statement's result, with the parser for its text form. */
export interface Column {
  name: string;
  dataTypeID: number;
  parse: (text: string) => unknown;
}

/**
 * One statement of a {@link Pipeline}: a named prepared statement (`parse` the first time on a connection, which
 * also describes its columns), or an unnamed one (`name` empty), parsed and described each time.
 */
export interface Step {
  name: string;
  text: string;
  /** Parameters in text form (`null` is SQL NULL). */
  values: Array<string | null>;
  parse: boolean;
  /** The columns of a named statement described earlier on this connection; without them it is described now. */
  columns?: Column[];
}

/** The result of one step: its rows as objects, and its columns (for a caller that keeps them). */
export interface StepResult extends pg.QueryResult {
  columns: Column[];
}

/** What `pg` hands a submitted query: only the calls the pipeline makes. */
interface Wire {
  parse(query: { name: string; text: string; types: number[] }): void;
  describe(msg: { type: 'S' | 'P'; name: string }): void;
  bind(config: { portal: string; statement: string; values: Array<string | null> }): void;
  execute(config: { portal: string; rows: number }): void;
  close(msg: { type: 'S' | 'P'; name: string }): void;
  sync(): void;
}

interface Field {
  name: string;
  dataTypeID: number;
}

function columnsOf(fields: Field[]): Column[] {
  return fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID, parse: pg.types.getTypeParser(f.dataTypeID, 'text') as (text: string) => unknown }));
}

const COMMAND = /^([A-Za-z]+)(?: (\d+))?(?: (\d+))?/;

/**
 * Several statements in one extended-protocol exchange, ended by a single Sync: Parse (first use only), Bind and
 * Execute for each, so Postgres neither parses SQL text nor runs `EXECUTE` for a statement it knows, and the whole
 * exchange is one message to the server (one turn of the embedded database). Statements between one Sync and the
 * next form one transaction unless a `begin` among them opens an explicit one. After an error Postgres skips to the
 * Sync, and the pipeline reports that error.
 *
 * It is a `pg` "submittable" (the interface `pg-cursor` uses): `client.query(pipeline, callback)`.
 */
export class Pipeline {
  callback?: (error: Error | null, results?: StepResult[]) => void;
  private readonly results: StepResult[] = [];
  private at = 0;
  private rows: Record<string, unknown>[] = [];
  private columns: Column[] | undefined;
  private error: Error | undefined;
  private done = false;

  constructor(
    private readonly steps: Step[],
    /** Prepared statements to deallocate first (Close messages). */
    private readonly closing: string[] = [],
  ) {
    this.columns = steps[0]?.columns;
  }

  submit(connection: Wire): void {
    for (const name of this.closing) connection.close({ type: 'S', name });
    for (const step of this.steps) {
      if (step.parse) connection.parse({ name: step.name, text: step.text, types: [] });
      if (step.name !== '' && !step.columns) connection.describe({ type: 'S', name: step.name });
      connection.bind({ portal: '', statement: step.name, values: step.values });
      if (step.name === '') connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '', rows: 0 });
    }
    connection.sync();
  }

  handleRowDescription(msg: { fields: Field[] }): void {
    this.columns = columnsOf(msg.fields);
  }

  handleDataRow(msg: { fields: Array<string | null> }): void {
    const columns = this.columns;
    if (!columns) return;
    const row: Record<string, unknown> = {};
    for (let i = 0; i < columns.length; i++) {
      const raw = msg.fields[i];
      row[columns[i].name] = raw === null ? null : columns[i].parse(raw);
    }
    this.rows.push(row);
  }

  handleCommandComplete(msg: { text: string }): void {
    const match = COMMAND.exec(msg.text);
    const rowCount = match?.[3] ?? match?.[2];
    this.finishStep(match?.[1] ?? '', rowCount === undefined ? null : Number(rowCount));
  }

  handleEmptyQuery(): void {
    this.finishStep('', null);
  }

  handlePortalSuspended(): void {}

  handleError(error: Error): void {
    // The first error is the last word: `pg` detaches the query then (Postgres skips to the Sync) and holds the next
    // query on this connection until the server is ready again.
    this.error ??= error;
    this.finish();
  }

  handleReadyForQuery(): void {
    this.finish();
  }

  private finishStep(command: string, rowCount: number | null): void {
    // A described statement that sent no RowDescription returns no rows (NoData).
    const columns = this.columns ?? [];
    this.results.push({
      command,
      rowCount,
      oid: 0,
      rows: this.rows,
      fields: columns.map((c) => ({ name: c.name, dataTypeID: c.dataTypeID }) as pg.FieldDef),
      columns,
    });
    this.rows = [];
    this.at += 1;
    this.columns = this.steps[this.at]?.columns;
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.error) this.callback?.(this.error);
    else this.callback?.(null, this.results);
  }

  /** Sends the pipeline on `client`; resolves with one result per step. */
  static run(client: pg.ClientBase, steps: Step[], closing: string[] = []): Promise<StepResult[]> {
    return new Promise((resolve, reject) => {
      const pipeline = new Pipeline(steps, closing);
      pipeline.callback = (error, results) => (error ? reject(error) : resolve(results!));
      client.query(pipeline as unknown as pg.Submittable);
    });
  }
}
