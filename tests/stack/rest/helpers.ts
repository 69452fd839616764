import { fileURLToPath } from 'node:url';
import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient, startTestStack } from '../../helpers/stack.ts';

/** The fixture project: tables with every kind of foreign key, RLS-protected notes, and functions. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/rest-project', import.meta.url));

/** Starts an ephemeral stack on the fixture project. */
export function startRestStack(): Promise<Stack> {
  return startTestStack({ projectDir: FIXTURE_DIR, seed: false });
}

/** A test file's fixture stack and a service-role supabase-js client for it, set once `beforeAll` has run. */
export interface RestFixture {
  stack: Stack;
  db: SupabaseClient;
}

/**
 * Starts the fixture stack before the file's tests (then runs `setup`, e.g. SQL creating the file's own tables) and
 * stops it after them.
 */
export function useRestStack(setup?: (stack: Stack) => Promise<unknown>): RestFixture {
  const fixture = {} as RestFixture;
  beforeAll(async () => {
    fixture.stack = await startRestStack();
    fixture.db = serviceClient(fixture.stack);
    await setup?.(fixture.stack);
  });
  afterAll(async () => {
    await fixture.stack?.stop();
  });
  return fixture;
}

/** A supabase-js result, as the tests read it. */
export type RestResult = { data: unknown; error: unknown; status: number };

/** `maxAffected(n)` on a query builder: typed for PostgREST 13+ schemas only, so the untyped client needs a cast. */
export function strict(builder: unknown, max: number): Promise<RestResult> {
  return (builder as { maxAffected(n: number): Promise<RestResult> }).maxAffected(max);
}
