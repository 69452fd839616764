import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPgTap } from '../../stack/db/pgtap.ts';
import type { Stack } from '../../stack/index.ts';
import { startTestStack } from '../helpers/stack.ts';

// Every supabase/tests/database/*.test.sql runs inside PGlite against the product's migrations,
// the way `supabase test db` runs them with pg_prove. A failing assertion fails `npm test`.
const DIR = join(process.cwd(), 'supabase', 'tests', 'database');
// A missing folder reads as no files, and no files fails below: a suite that vanishes must not pass.
const files = (await readdir(DIR).catch(() => [] as string[])).filter((f) => f.endsWith('.test.sql')).sort();

describe('pgTAP suite (supabase/tests/database)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ seed: false });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('finds at least one *.test.sql to run (a suite that vanishes fails)', () => {
    expect(files, `no *.test.sql in ${DIR}`).not.toEqual([]);
  });

  it.each(files)('%s passes', async (file) => {
    const result = await runPgTap(stack.db, await readFile(join(DIR, file), 'utf8'));
    const failures = result.assertions
      .filter((a) => !a.ok)
      .map((a) => [`not ok ${a.n} - ${a.description}`, ...a.diagnostics.map((d) => `    ${d}`)].join('\n'));
    expect({ failures, notes: result.notes, planned: result.planned }).toEqual({
      failures: [],
      notes: [],
      planned: result.assertions.length,
    });
    expect(result.passed).toBe(true);
  });
});
