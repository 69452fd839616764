import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTap, runPgTap } from '../../stack/db/pgtap.ts';
import type { Stack } from '../../stack/index.ts';
import { tempProject, type TempProject } from '../helpers/project.ts';
import { startTestStack } from '../helpers/stack.ts';

describe('pgTAP runner', () => {
  let stack: Stack;
  let project: TempProject;
  beforeAll(async () => {
    project = await tempProject();
    stack = await startTestStack({ projectDir: project.dir });
  });
  afterAll(async () => {
    await stack?.stop();
    await project?.remove();
  });

  it('reports a passing file as passed and leaves nothing behind', async () => {
    const result = await runPgTap(
      stack.db,
      `begin; select plan(2);
       create table public.scratch (id int);
       select has_table('public', 'scratch', 'scratch exists');
       select is(1 + 1, 2, 'arithmetic');
       select * from finish(); rollback;`,
    );
    expect(result).toEqual({
      planned: 2,
      assertions: [
        { n: 1, ok: true, description: 'scratch exists', diagnostics: [] },
        { n: 2, ok: true, description: 'arithmetic', diagnostics: [] },
      ],
      notes: [],
      passed: true,
    });
    const { rows } = await stack.db.query("select to_regclass('public.scratch') as t");
    expect(rows[0].t).toBeNull();
  });

  it('fails on a failing assertion, with its diagnostics', async () => {
    const result = await runPgTap(stack.db, `begin; select plan(1); select is(1, 2, 'one is two'); select * from finish(); rollback;`);
    expect(result.passed).toBe(false);
    expect(result.assertions).toEqual([
      { n: 1, ok: false, description: 'one is two', diagnostics: ['Failed test 1: "one is two"', '        have: 1', '        want: 2'] },
    ]);
  });

  it('fails when fewer assertions ran than planned', async () => {
    const result = await runPgTap(stack.db, `begin; select plan(3); select ok(true, 'only one'); select * from finish(); rollback;`);
    expect(result.passed).toBe(false);
    expect(result.planned).toBe(3);
  });

  it('fails and rolls back when the file raises an SQL error', async () => {
    const result = await runPgTap(
      stack.db,
      `begin; select plan(1); create table public.leftover (id int); select * from nope; rollback;`,
    );
    expect(result.passed).toBe(false);
    expect(result.notes).toEqual(['Bail out! relation "nope" does not exist']);
    const { rows } = await stack.db.query("select to_regclass('public.leftover') as t");
    expect(rows[0].t).toBeNull();
  });

  it('ignores rows of the file\'s own queries that are not TAP', async () => {
    const result = await runPgTap(
      stack.db,
      `begin; select plan(1);
       select set_config('request.jwt.claims', '{"sub":"x"}', true);
       select ok(current_setting('request.jwt.claims') = '{"sub":"x"}', 'claims set');
       select * from finish(); rollback;`,
    );
    expect(result).toEqual({
      planned: 1,
      assertions: [{ n: 1, ok: true, description: 'claims set', diagnostics: [] }],
      notes: [],
      passed: true,
    });
  });

  it('parses TAP without a plan line', () => {
    expect(parseTap(['ok 1 - a', 'not ok 2 - b', '# why'])).toEqual({
      planned: undefined,
      assertions: [
        { n: 1, ok: true, description: 'a', diagnostics: [] },
        { n: 2, ok: false, description: 'b', diagnostics: ['why'] },
      ],
      notes: [],
    });
  });
});
