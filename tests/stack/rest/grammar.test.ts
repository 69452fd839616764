import { describe, expect, it } from 'vitest';
import { parseLogic, parseOperation, parseOrder, parseSelect, parseTreePath } from '../../../stack/rest/grammar.ts';

describe('query grammar', () => {
  it('parses select items: aliases, casts, JSON paths, quoted names, hints, join types and spreads', () => {
    expect(parseSelect('a:"my col",data->x->>0::int,rel!fk!inner(*),...one(b)')).toEqual([
      { kind: 'column', field: { name: 'my col', path: [] }, alias: 'a', cast: undefined },
      { kind: 'column', field: { name: 'data', path: [{ arrow: '->', key: 'x' }, { arrow: '->>', key: 0 }] }, alias: undefined, cast: 'int' },
      { kind: 'embed', name: 'rel', alias: undefined, hint: 'fk', join: 'inner', spread: false, children: [{ kind: 'star' }] },
      { kind: 'embed', name: 'one', alias: undefined, hint: undefined, join: undefined, spread: true, children: [{ kind: 'column', field: { name: 'b', path: [] }, alias: undefined, cast: undefined }] },
    ]);
  });

  it('reads quoted in-list values with escaped quotes and backslashes', () => {
    expect(parseOperation('not.in.("a,b","say \\"hi\\"","back\\\\slash",plain)')).toEqual({
      negate: true,
      operation: { op: 'in', values: ['a,b', 'say "hi"', 'back\\slash', 'plain'] },
    });
  });

  it('takes top-level filter values verbatim, dots and quotes included', () => {
    expect(parseOperation('eq."x".y')).toEqual({ negate: false, operation: { op: 'eq', quant: undefined, value: '"x".y' } });
    expect(parseOperation('fts(english).fat & cat')).toEqual({ negate: false, operation: { op: 'fts', config: 'english', value: 'fat & cat' } });
    expect(parseOperation('like(all).{a*,b*}')).toEqual({ negate: false, operation: { op: 'like', quant: 'all', value: '{a*,b*}' } });
  });

  it('parses nested logic trees with quoted values and array literals', () => {
    expect(parseLogic('or', true, '(a.eq."x,y",not.and(b.cs.{1,2},c.is.null))')).toEqual({
      kind: 'logic',
      negate: true,
      op: 'or',
      children: [
        { kind: 'filter', filter: { field: { name: 'a', path: [] }, negate: false, operation: { op: 'eq', quant: undefined, value: 'x,y' } } },
        {
          kind: 'logic',
          negate: true,
          op: 'and',
          children: [
            { kind: 'filter', filter: { field: { name: 'b', path: [] }, negate: false, operation: { op: 'cs', value: '{1,2}' } } },
            { kind: 'filter', filter: { field: { name: 'c', path: [] }, negate: false, operation: { op: 'is', value: 'null' } } },
          ],
        },
      ],
    });
  });

  it('parses order terms and embed paths', () => {
    expect(parseOrder('a.desc.nullslast,rel(b),data->>k.asc')).toEqual([
      { field: { name: 'a', path: [] }, direction: 'desc', nulls: 'last' },
      { relation: 'rel', field: { name: 'b', path: [] } },
      { field: { name: 'data', path: [{ arrow: '->>', key: 'k' }] }, direction: 'asc' },
    ]);
    expect(parseTreePath('posts.comments.meta->x')).toEqual({ path: ['posts', 'comments'], field: { name: 'meta', path: [{ arrow: '->', key: 'x' }] } });
  });

  it('rejects what does not parse with PGRST100 and the position', () => {
    expect(() => parseOperation('eq')).toThrowError('"failed to parse filter (eq)" (line 1, column 3)');
    expect(() => parseSelect('a,b(')).toThrowError('"failed to parse select parameter (a,b()" (line 1, column 5)');
  });
});
