import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_TYPES_PATH, generateDatabaseTypes } from '../../../stack/db/types.ts';
import type { Stack } from '../../../stack/index.ts';
import { startTestStack } from '../../helpers/stack.ts';

// Functions type their clients with the generated schema; a migration without `npm run db:types` fails here.
describe('supabase/functions/_shared/database.types.ts', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is what the Supabase CLI generates from the migrations (run `npm run db:types` after changing them)', async () => {
    const committed = await readFile(DATABASE_TYPES_PATH, 'utf8');
    const generated = await generateDatabaseTypes(process.cwd(), stack.dbUrl);
    expect(committed === generated, 'database.types.ts is stale: run `npm run db:types`').toBe(true);
  });
});
