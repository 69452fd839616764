import { EnvError } from '../../supabase/functions/_shared/env.ts';

/** The `EnvError` that `run` throws (failing the test if it throws anything else, or nothing). */
export function envErrorOf(run: () => unknown): EnvError {
  try {
    run();
  } catch (error) {
    if (error instanceof EnvError) return error;
    throw error;
  }
  throw new Error('expected an EnvError');
}
