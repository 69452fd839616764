import { describe, expect, it } from 'vitest';
import { findNul } from '../../stack/text.ts';

describe('findNul (stack/text.ts)', () => {
  it('finds the first U+0000 in document order, in a string or in a key', () => {
    expect(findNul('a\u0000')).toEqual({ path: [] });
    expect(findNul({ a: [{ b: 'ok' }, { c: 'x\u0000' }], d: '\u0000' })).toEqual({ path: ['a', 1, 'c'] });
    expect(findNul({ a: { ['k\u0000']: 'v\u0000' } })).toEqual({ path: ['a'], key: 'k\u0000' });
    expect(findNul({ a: ['fine', 1, null, true], b: { c: 'still fine' } })).toBeUndefined();
  });

  it('walks a deeply nested value without overflowing the stack', () => {
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    expect(findNul(deep)?.path).toHaveLength(100_000);
  });
});
