/**
 * Postgres cannot store U+0000 in `text` or `jsonb`, so input holding it would fail only when it reaches the
 * database, as a 500. The stack's services (Auth, Storage) look for it first and answer 400 in their own shapes.
 */

/** Where a parsed JSON value holds U+0000: the path to a string, or to an object one of whose keys holds it. */
export interface NulFound {
  path: Array<string | number>;
  /** Set when the NUL is in this key of the object at `path`. */
  key?: string;
}

/**
 * The first U+0000 in `root` in document order (a key before its value), or `undefined`. Iterative, so a deeply
 * nested body cannot overflow the stack.
 */
export function findNul(root: unknown): NulFound | undefined {
  // Each entry points at its parent, so a path is built only for the one that is found.
  interface Entry {
    value: unknown;
    parent?: Entry;
    step?: string | number;
  }
  const pathOf = (entry: Entry | undefined): Array<string | number> => {
    const path: Array<string | number> = [];
    for (let at = entry; at?.step !== undefined; at = at.parent) path.push(at.step);
    return path.reverse();
  };
  const pending: Entry[] = [{ value: root }];
  while (pending.length > 0) {
    const entry = pending.pop()!;
    const { value, parent, step } = entry;
    if (typeof step === 'string' && step.includes('\u0000')) return { path: pathOf(parent), key: step };
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { path: pathOf(entry) };
    } else if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) pending.push({ value: value[i], parent: entry, step: i });
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (let i = entries.length - 1; i >= 0; i -= 1) pending.push({ value: entries[i][1], parent: entry, step: entries[i][0] });
    }
  }
  return undefined;
}
