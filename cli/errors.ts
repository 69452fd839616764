/** What can go wrong in a CLI command; each code has one exit status (see {@link EXIT_CODES}). */
export type CliErrorCode =
  | 'invalid_input'
  | 'weak_password'
  | 'unknown_plan'
  | 'not_found'
  | 'email_exists'
  | 'conflict'
  | 'unreachable'
  | 'unauthorized'
  | 'invalid_config'
  | 'unexpected';

/** Exit statuses, stable for scripts: 2 bad input, 3 not found, 4 conflict, 5 project unreachable or refusing the key, 6 configuration. */
export const EXIT_CODES: Record<CliErrorCode, number> = {
  invalid_input: 2,
  weak_password: 2,
  unknown_plan: 2,
  not_found: 3,
  email_exists: 4,
  conflict: 4,
  unreachable: 5,
  unauthorized: 5,
  invalid_config: 6,
  unexpected: 1,
};

/** An error the CLI reports as `error: <message>` (or JSON with `--json`) and exits with its code's status. */
export class CliError extends Error {
  constructor(
    readonly code: CliErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** Records network failures of the clients' fetch, so an error surfaced by supabase-js can be told apart. */
export class NetworkWatch {
  failure: Error | undefined;

  constructor(readonly url: string) {}

  /** A fetch that remembers why a request could not be sent at all. */
  readonly fetch: typeof fetch = async (input, init) => {
    try {
      return await fetch(input, init);
    } catch (error) {
      this.failure = error as Error;
      throw error;
    }
  };

  /**
   * Checks the project answers and accepts the publishable key before a command starts (Auth's health
   * endpoint), so an unreachable project is one clear error rather than a failure deep inside a client.
   */
  async ping(publishableKey: string): Promise<void> {
    let status: number;
    try {
      const res = await this.fetch(`${this.url}/auth/v1/health`, { headers: { apikey: publishableKey }, signal: AbortSignal.timeout(10_000) });
      status = res.status;
      await res.body?.cancel();
    } catch {
      throw this.explain(new CliError('unexpected', 'unreachable'));
    }
    if (status === 401) throw this.explain(new CliError('unexpected', 'refused'), 401);
    this.failure = undefined;
  }

  /** The CliError for a failed call: unreachable, refused key, or `fallback`. */
  explain(fallback: CliError, status?: number): CliError {
    if (this.failure) {
      const cause = (this.failure as { cause?: { code?: string; message?: string } }).cause;
      return new CliError('unreachable', `Cannot reach ${this.url} (${cause?.code ?? cause?.message ?? this.failure.message}). Is the stack running (npm run dev), or is EDGEBRAIN_SUPABASE_URL right?`);
    }
    if (status === 401) {
      return new CliError('unauthorized', `${this.url} refused the key (401). Check EDGEBRAIN_SECRET_KEY / EDGEBRAIN_PUBLISHABLE_KEY for this profile.`);
    }
    return fallback;
  }
}
