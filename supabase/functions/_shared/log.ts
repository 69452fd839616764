/** Severity of a log line. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A structured logger: one JSON object per line, with the bindings (e.g. `request_id`) on every line. */
export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
  child(bindings: Record<string, unknown>): Logger;
}

/** Where lines go; `console` by default (Supabase collects function stdout/stderr). */
export type LogSink = (level: LogLevel, line: string) => void;

const consoleSink: LogSink = (level, line) => (level === 'error' || level === 'warn' ? console.error(line) : console.log(line));

/** Creates a {@link Logger} writing JSON lines to `sink`. */
export function createLogger(bindings: Record<string, unknown> = {}, sink: LogSink = consoleSink): Logger {
  return {
    log(level, message, fields = {}) {
      sink(level, JSON.stringify({ level, msg: message, time: new Date().toISOString(), ...bindings, ...fields }));
    },
    child(more) {
      return createLogger({ ...bindings, ...more }, sink);
    },
  };
}

/**
 * Error fields for a log line: name, message and stack, never request data. Plain error objects (supabase-js
 * returns `{code, message, details, hint}` from the Data API) keep those fields.
 */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const err: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
    // What a mapped error wraps (a database error behind a generic 500) is what the log reader needs.
    if (error.cause !== undefined) err.cause = errorFields(error.cause).err;
    return { err };
  }
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { code, message, details, hint } = error as Record<string, unknown>;
    return { err: { code, message: String(message), details, hint } };
  }
  return { err: { message: String(error) } };
}
