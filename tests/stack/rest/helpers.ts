import { fileURLToPath } from 'node:url';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

/** The fixture project: tables with every kind of foreign key, RLS-protected notes, and functions. */
export const FIXTURE_DIR = fileURLToPath(new URL('../../fixtures/rest-project', import.meta.url));

/** Starts an ephemeral stack on the fixture project. */
export function startRestStack(): Promise<Stack> {
  return startTestStack({ projectDir: FIXTURE_DIR, seed: false });
}
