import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROFILE_VARIABLES } from '../../cli/profile.ts';

const VARIABLE = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && entry.name !== 'database.types.ts' ? [path] : [];
  });
}

/** The text between the brace at `open` and its match. */
function braced(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i += 1) {
    if (text[i] === '{') depth += 1;
    else if (text[i] === '}' && (depth -= 1) === 0) return text.slice(open + 1, i);
  }
  return text.slice(open + 1);
}

/** Keys at the top level of an object literal's text (nested objects and calls skipped). */
function topLevelKeys(body: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  const re = /[{}()[\]]|(?:^|[,\s])([A-Za-z_][A-Za-z0-9_]*)\s*:/g;
  for (let m = re.exec(body); m; m = re.exec(body)) {
    const token = m[0];
    if (token === '{' || token === '(' || token === '[') depth += 1;
    else if (token === '}' || token === ')' || token === ']') depth -= 1;
    else if (depth === 0) keys.push(m[1]);
  }
  return keys;
}

/**
 * What the functions read from the environment: keys of every zod object schema (`z.object({…})`,
 * `.extend({…})`) named like a variable — how `_shared/env.ts` and each entry file declare them — and any direct
 * `Deno.env.get('…')`.
 */
function functionVariables(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of sources('supabase/functions')) {
    const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    for (const m of text.matchAll(/(?:\bz\.object|\.extend)\(\s*\{/g)) {
      for (const key of topLevelKeys(braced(text, m.index + m[0].length - 1))) if (VARIABLE.test(key)) found.set(key, file);
    }
    for (const m of text.matchAll(/Deno\.env\.get\(\s*['"]([A-Z0-9_]+)['"]/g)) found.set(m[1], file);
  }
  return found;
}

/** Names `.env.example` lists, as `NAME=` or commented out as `# NAME=`, each with a comment. */
function listed(): Set<string> {
  const text = readFileSync('.env.example', 'utf8');
  return new Set([...text.matchAll(/^(?:#\s*)?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]));
}

describe('.env.example', () => {
  it('lists every variable a function reads', () => {
    const variables = functionVariables();
    // The scan must see the variables we know are there, or it proves nothing.
    expect([...variables.keys()]).toEqual(expect.arrayContaining(['SUPABASE_URL', 'LLM_PROVIDER', 'EMBEDDINGS_PROVIDER', 'WORKER_SLICE_MS']));
    const names = listed();
    const missing = [...variables].filter(([name]) => !names.has(name)).map(([name, file]) => `${name} (${file})`);
    expect(missing).toEqual([]);
  });

  it('lists every variable of the CLI profiles, scripts and benchmarks', () => {
    const names = listed();
    expect(PROFILE_VARIABLES.filter((name) => !names.has(name))).toEqual([]);
    // Scripts that read a profile name their own EDGEBRAIN_* variables (some build the name at run time, so the
    // whole text counts, comments included).
    const used = new Set(
      ['cli', 'scripts', 'bench'].flatMap((dir) =>
        sources(dir).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\bEDGEBRAIN_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0])),
      ),
    );
    expect(used.size).toBeGreaterThanOrEqual(PROFILE_VARIABLES.length);
    expect([...used].filter((name) => !names.has(name))).toEqual([]);
  });

  it("lists the browser app's build variables", () => {
    const used = new Set(
      sources('web/src').flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/import\.meta\.env\.(VITE_[A-Z0-9_]+)/g)].map((m) => m[1])),
    );
    expect([...used].sort()).toEqual(['VITE_SUPABASE_PUBLISHABLE_KEY', 'VITE_SUPABASE_URL']);
    const names = listed();
    expect([...used].filter((name) => !names.has(name))).toEqual([]);
  });

  it('has a comment line above every variable', () => {
    const lines = readFileSync('.env.example', 'utf8').split('\n');
    const bare = lines
      .map((line, i) => ({ line, before: lines[i - 1] ?? '' }))
      .filter(({ line, before }) => /^[A-Z][A-Z0-9_]+=/.test(line) && !before.startsWith('#'))
      .map(({ line }) => line);
    expect(bare).toEqual([]);
  });
});
