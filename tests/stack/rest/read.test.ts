import type { SupabaseClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { serviceClient } from '../../helpers/stack.ts';
import { startRestStack } from './helpers.ts';

let stack: Stack;
let db: SupabaseClient;

beforeAll(async () => {
  stack = await startRestStack();
  db = serviceClient(stack);
});
afterAll(async () => {
  await stack?.stop();
});

/** Runs a filtered `posts` or `authors` query selecting only ids, ordered by id. */
async function ids(table: 'posts' | 'authors', build: (q: any) => any): Promise<unknown> {
  const { data, error } = await build(db.from(table).select('id').order('id'));
  if (error) return error;
  return (data as Array<{ id: number }>).map((r) => r.id);
}

describe('select', () => {
  it('returns every column of every row for select=*', async () => {
    const { data, error, status } = await db.from('authors').select().eq('id', 2);
    expect({ data, error, status }).toEqual({
      data: [{ id: 2, name: 'Grace', bio: null, tags: ['navy', 'compilers'], meta: { lang: 'en', stats: { posts: 1 } }, born: '1906-12-09' }],
      error: null,
      status: 200,
    });
  });

  it('renames with aliases, casts, and follows JSON paths with -> and ->>', async () => {
    const { data } = await db
      .from('authors')
      .select('writer:name, id::text, meta->stats->posts, language:meta->>lang, count:meta->stats->>posts::int')
      .order('id');
    expect(data).toEqual([
      { writer: 'Ada', id: '1', posts: 2, language: 'en', count: 2 },
      { writer: 'Grace', id: '2', posts: 1, language: 'en', count: 1 },
      { writer: 'Linus, Jr.', id: '3', posts: null, language: 'fi', count: null },
    ]);
  });

  it('answers 400 42703 for an unknown column', async () => {
    const { data, error, status } = await db.from('authors').select('id, nope');
    expect({ data, error, status }).toEqual({
      data: null,
      error: { code: '42703', details: null, hint: null, message: 'column authors.nope does not exist' },
      status: 400,
    });
  });

  it('answers 400 42703 for a filter on an unknown column', async () => {
    const { error, status } = await db.from('authors').select('id').eq('nope', 1);
    expect({ error, status }).toEqual({
      error: { code: '42703', details: null, hint: null, message: 'column authors.nope does not exist' },
      status: 400,
    });
  });

  it('answers 404 PGRST205 for an unknown table', async () => {
    const { data, error, status } = await db.from('nope').select();
    expect({ data, error, status }).toEqual({
      data: null,
      error: { code: 'PGRST205', details: null, hint: null, message: "Could not find the table 'public.nope' in the schema cache" },
      status: 404,
    });
  });

  it('answers 400 PGRST100 for a select that does not parse', async () => {
    const { error, status } = await db.from('authors').select('id,(');
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST100',
        details: 'unexpected "(" expecting field name',
        hint: null,
        message: '"failed to parse select parameter (id,()" (line 1, column 4)',
      },
      status: 400,
    });
  });

  it('answers 400 42704 for a cast to a type that does not exist', async () => {
    const { error, status } = await db.from('authors').select('id::nosuchtype');
    expect({ error, status }).toEqual({
      error: { code: '42704', details: null, hint: null, message: 'type "nosuchtype" does not exist' },
      status: 400,
    });
  });

  it('answers 406 PGRST106 for a schema that is not exposed', async () => {
    const { error, status } = await db.schema('auth').from('users').select();
    expect({ error, status }).toEqual({
      error: { code: 'PGRST106', details: null, hint: 'Only the following schemas are exposed: public, graphql_public', message: 'Invalid schema: auth' },
      status: 406,
    });
  });

  it('returns CSV when asked with .csv(), each row printed as Postgres prints a record (as PostgREST does)', async () => {
    const { data, status } = await db.from('authors').select('id,name,bio').order('id').csv();
    expect({ data, status }).toEqual({ data: 'id,name,bio\n1,Ada,"Writes about engines"\n2,Grace,\n3,"Linus, Jr.","Kernel (and git)"', status: 200 });
  });

  it('prints jsonb, arrays and tsvector in CSV as Postgres prints them, and no header without rows', async () => {
    const { data } = await db.from('authors').select('id,tags,meta,words:bio').eq('id', 1).csv();
    expect(data).toBe('id,tags,meta,words\n1,"{math,engines}","{""lang"": ""en"", ""stats"": {""posts"": 2}}","Writes about engines"');
    const vector = await db.from('authors').select('v:name::tsvector').eq('id', 3).csv();
    expect(vector.data).toBe(`v\n"'Jr.' 'Linus,'"`);
    const empty = await db.from('authors').select('id').eq('id', -1).csv();
    expect(empty.data).toBe('\n');
  });
});

describe('filters', () => {
  it.each([
    ['eq', (q: any) => q.eq('name', 'Ada'), [1]],
    ['neq', (q: any) => q.neq('id', 1), [2, 3]],
    ['match()', (q: any) => q.match({ name: 'Grace', id: 2 }), [2]],
    ['like', (q: any) => q.like('name', '*a*'), [1, 2]],
    ['ilike', (q: any) => q.ilike('name', 'linus%'), [3]],
    ['match (regex)', (q: any) => q.regexMatch('name', '^G'), [2]],
    ['imatch', (q: any) => q.regexIMatch('name', '^g'), [2]],
    ['is null', (q: any) => q.is('bio', null), [2]],
    ['not is null', (q: any) => q.not('born', 'is', null), [1, 2]],
    ['in with quoted values', (q: any) => q.in('name', ['Ada', 'Linus, Jr.']), [1, 3]],
    ['empty in', (q: any) => q.in('name', []), []],
    ['not in', (q: any) => q.notIn('id', [1, 2]), [3]],
    ['cs on an array', (q: any) => q.contains('tags', ['math']), [1]],
    ['cs on jsonb', (q: any) => q.contains('meta', { lang: 'fi' }), [3]],
    ['cd on an array', (q: any) => q.containedBy('tags', ['math', 'engines', 'extra']), [1, 3]],
    ['ov on an array', (q: any) => q.overlaps('tags', ['navy', 'math']), [1, 2]],
    ['JSON path ->>', (q: any) => q.eq('meta->>lang', 'fi'), [3]],
    ['nested JSON path', (q: any) => q.eq('meta->stats->>posts', '2'), [1]],
    ['dates gt', (q: any) => q.gt('born', '1900-01-01'), [2]],
  ])('filters authors with %s', async (_name, build, expected) => {
    expect(await ids('authors', build)).toEqual(expected);
  });

  it.each([
    ['gt', (q: any) => q.gt('rating', 3), [1, 2]],
    ['gte', (q: any) => q.gte('rating', 4), [1, 2]],
    ['lt', (q: any) => q.lt('rating', 4), [3]],
    ['lte', (q: any) => q.lte('rating', 3), [3]],
    ['is true', (q: any) => q.is('published', true), [1, 2]],
    ['is false', (q: any) => q.is('published', false), [3, 4]],
    ['isdistinct', (q: any) => q.isDistinct('rating', 5), [2, 3, 4]],
    ['like(any)', (q: any) => q.likeAnyOf('title', ['*engine*', 'Comp*']), [1, 3]],
    ['like(all)', (q: any) => q.likeAllOf('title', ['On*', '*numbers']), [2]],
    ['ilike(any)', (q: any) => q.ilikeAnyOf('title', ['*DRAFT', 'compilers']), [3, 4]],
    ['eq(any)', (q: any) => q.filter('rating', 'eq(any)', '{3,5}'), [1, 3]],
    ['sl', (q: any) => q.rangeLt('during', '[10,11)'), [1, 2]],
    ['sr', (q: any) => q.rangeGt('during', '[1,5)'), [2, 3]],
    ['nxr', (q: any) => q.rangeLte('during', '[1,10)'), [1, 2]],
    ['nxl', (q: any) => q.rangeGte('during', '[5,100)'), [2, 3]],
    ['adj', (q: any) => q.rangeAdjacent('during', '[20,30)'), [3]],
    ['ov on a range', (q: any) => q.overlaps('during', '[4,6)'), [1, 2]],
    ['cs on a range', (q: any) => q.contains('during', '[11,12)'), [3]],
    ['fts', (q: any) => q.textSearch('search', 'engine', { config: 'english' }), [1, 2]],
    ['plfts', (q: any) => q.textSearch('search', 'algebraic patterns', { type: 'plain' }), [1]],
    ['phfts', (q: any) => q.textSearch('search', 'first compiler', { type: 'phrase', config: 'english' }), [3]],
    ['wfts', (q: any) => q.textSearch('search', 'engine -bernoulli', { type: 'websearch' }), [1]],
    ['fts on a text column', (q: any) => q.textSearch('body', 'compilers', { config: 'english' }), [3]],
    ['not fts', (q: any) => q.not('search', 'fts', 'engine'), [3, 4]],
    ['or with nested and', (q: any) => q.or('rating.gt.4,and(published.is.false,rating.is.null)'), [1, 4]],
    ['or with quoted values', (q: any) => q.or('title.eq."On Bernoulli numbers",title.in.("Compilers","a,b")'), [2, 3]],
  ])('filters posts with %s', async (_name, build, expected) => {
    expect(await ids('posts', build)).toEqual(expected);
  });

  it('supports and=(…) and not.or=(…) as query parameters', async () => {
    const url = `${stack.apiUrl}/rest/v1/posts?select=id&order=id&and=(published.is.true,rating.lt.5)&not.or=(id.eq.3,id.eq.4)`;
    const res = await fetch(url, { headers: { apikey: stack.keys.secret } });
    expect(await res.json()).toEqual([{ id: 2 }]);
  });

  it('answers 400 PGRST100 for an unknown operator', async () => {
    const { error, status } = await db.from('posts').select('id').filter('id', 'zz', 1);
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST100',
        details: 'unexpected "z" expecting "not" or operator (eq, gt, ...)',
        hint: null,
        message: '"failed to parse filter (zz.1)" (line 1, column 1)',
      },
      status: 400,
    });
  });

  it('answers 400 PGRST100 for a logic tree that does not parse', async () => {
    const { error, status } = await db.from('posts').select('id').or('id.eq.1,');
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST100',
        details: 'unexpected ")" expecting field name',
        hint: null,
        message: '"failed to parse logic tree ((id.eq.1,))" (line 1, column 10)',
      },
      status: 400,
    });
  });

  it('answers 400 with the Postgres error for a value of the wrong type', async () => {
    const { error, status } = await db.from('posts').select('id').eq('rating', 'high');
    expect({ error, status }).toEqual({
      error: { code: '22P02', details: null, hint: null, message: 'invalid input syntax for type integer: "high"' },
      status: 400,
    });
  });

  it('treats values as data, never as SQL', async () => {
    const { data, error } = await db.from('authors').select('id').eq('name', "Ada'; drop table public.authors; --");
    expect({ data, error }).toEqual({ data: [], error: null });
    const { count } = await db.from('authors').select('*', { count: 'exact', head: true });
    expect(count).toBe(3);
  });
});

describe('embedding', () => {
  it('embeds a to-one parent with a column hint and to-many children', async () => {
    const { data, error } = await db
      .from('posts')
      .select('id, author:authors!author_id(name), comments(id, content)')
      .in('id', [1, 2, 4])
      .order('id');
    expect({ data, error }).toEqual({
      data: [
        { id: 1, author: { name: 'Ada' }, comments: [{ id: 1, content: 'Brilliant' }, { id: 2, content: 'Visionary' }] },
        { id: 2, author: { name: 'Ada' }, comments: [] },
        { id: 4, author: null, comments: [] },
      ],
      error: null,
    });
  });

  it('embeds children from the parent side with a foreign key name hint', async () => {
    const { data } = await db.from('authors').select('name, edited:posts!posts_editor_id_fkey(id)').order('id');
    expect(data).toEqual([
      { name: 'Ada', edited: [{ id: 3 }] },
      { name: 'Grace', edited: [{ id: 1 }] },
      { name: 'Linus, Jr.', edited: [] },
    ]);
  });

  it('embeds one-to-one as an object and many-to-many through a junction table', async () => {
    const a = await db.from('authors').select('name, author_profiles(website)').order('id').limit(2);
    expect(a.data).toEqual([
      { name: 'Ada', author_profiles: { website: 'https://ada.example' } },
      { name: 'Grace', author_profiles: null },
    ]);
    const p = await db.from('posts').select('id, labels(label)').order('id');
    expect(p.data).toEqual([
      { id: 1, labels: [{ label: 'history' }, { label: 'math' }] },
      { id: 2, labels: [{ label: 'math' }] },
      { id: 3, labels: [{ label: 'cs' }] },
      { id: 4, labels: [] },
    ]);
  });

  it('nests embeds and spreads to-one columns into the parent', async () => {
    const { data } = await db.from('comments').select('content, posts(title, ...authors!author_id(author:name))').order('id');
    expect(data).toEqual([
      { content: 'Brilliant', posts: { title: 'Analytical engine notes', author: 'Ada' } },
      { content: 'Visionary', posts: { title: 'Analytical engine notes', author: 'Ada' } },
      { content: 'Useful', posts: { title: 'Compilers', author: 'Grace' } },
    ]);
  });

  it('filters, orders and limits embedded rows without filtering parents', async () => {
    const { data } = await db
      .from('posts')
      .select('id, comments(content)')
      .neq('comments.content', 'Useful')
      .order('id', { referencedTable: 'comments', ascending: false })
      .limit(1, { referencedTable: 'comments' })
      .lte('id', 3)
      .order('id');
    expect(data).toEqual([
      { id: 1, comments: [{ content: 'Visionary' }] },
      { id: 2, comments: [] },
      { id: 3, comments: [] },
    ]);
  });

  it('filters parents by embedded rows with !inner', async () => {
    const { data } = await db.from('posts').select('id, comments!inner(content)').eq('comments.content', 'Useful');
    expect(data).toEqual([{ id: 3, comments: [{ content: 'Useful' }] }]);
  });

  it('filters parents by whether an embed is null, with an empty embed used only for filtering', async () => {
    const { data } = await db.from('posts').select('id, author:authors!author_id()').not('author', 'is', null).order('id');
    expect(data).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  });

  it('applies or=() to an embedded resource', async () => {
    const { data } = await db
      .from('posts')
      .select('id, comments(id)')
      .or('id.eq.1,content.eq.Useful', { referencedTable: 'comments' })
      .order('id')
      .limit(3);
    expect(data).toEqual([
      { id: 1, comments: [{ id: 1 }] },
      { id: 2, comments: [] },
      { id: 3, comments: [{ id: 3 }] },
    ]);
  });

  it('orders parents by a column of a to-one embed', async () => {
    const { data } = await db.from('posts').select('id, author:authors!author_id(name)').lte('id', 3).order('author(name)', { ascending: false }).order('id');
    expect(data).toEqual([
      { id: 3, author: { name: 'Grace' } },
      { id: 1, author: { name: 'Ada' } },
      { id: 2, author: { name: 'Ada' } },
    ]);
  });

  it('answers 300 PGRST201 when two foreign keys could be meant', async () => {
    const { data, error, status } = await db.from('posts').select('id, authors(name)');
    expect({ data, error, status }).toEqual({
      data: null,
      error: {
        code: 'PGRST201',
        details: [
          { cardinality: 'many-to-one', embedding: 'posts with authors', relationship: 'posts_author_id_fkey using posts(author_id) and authors(id)' },
          { cardinality: 'many-to-one', embedding: 'posts with authors', relationship: 'posts_editor_id_fkey using posts(editor_id) and authors(id)' },
        ],
        hint: "Try changing 'authors' to one of the following: 'authors!posts_author_id_fkey', 'authors!posts_editor_id_fkey'. Find the desired relationship in the 'details' key.",
        message: "Could not embed because more than one relationship was found for 'posts' and 'authors'",
      },
      status: 300,
    });
  });

  it('answers 400 PGRST200 when no foreign key relates the tables', async () => {
    const { error, status } = await db.from('labels').select('id, authors(name)');
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST200',
        details: "Searched for a foreign key relationship between 'labels' and 'authors' in the schema 'public', but no matches were found.",
        hint: null,
        message: "Could not find a relationship between 'labels' and 'authors' in the schema cache",
      },
      status: 400,
    });
  });

  it('answers 400 PGRST108 for a filter on a resource that is not embedded', async () => {
    const { error, status } = await db.from('posts').select('id').eq('comments.id', 1);
    expect({ error, status }).toEqual({
      error: {
        code: 'PGRST108',
        details: null,
        hint: "Verify that 'comments' is included in the 'select' query parameter.",
        message: "'comments' is not an embedded resource in this request",
      },
      status: 400,
    });
  });
});

describe('order, ranges and counts', () => {
  it('orders with nullsfirst and nullslast', async () => {
    const first = await db.from('posts').select('id').order('rating', { ascending: false, nullsFirst: true });
    expect(first.data).toEqual([{ id: 4 }, { id: 1 }, { id: 2 }, { id: 3 }]);
    const last = await db.from('posts').select('id').order('published').order('rating', { ascending: true, nullsFirst: false });
    expect(last.data).toEqual([{ id: 3 }, { id: 4 }, { id: 2 }, { id: 1 }]);
  });

  it('pages with range() and reports the exact count with 206', async () => {
    const { data, count, status, error } = await db.from('posts').select('id', { count: 'exact' }).order('id').range(1, 2);
    expect({ data, count, status, error }).toEqual({ data: [{ id: 2 }, { id: 3 }], count: 4, status: 206, error: null });
  });

  it('answers 200 when the page holds every row, and counts with head', async () => {
    const full = await db.from('posts').select('id', { count: 'exact' }).order('id').limit(10);
    expect({ count: full.count, status: full.status }).toEqual({ count: 4, status: 200 });
    const head = await db.from('posts').select('*', { count: 'exact', head: true }).eq('published', true);
    expect({ data: head.data, count: head.count, status: head.status }).toEqual({ data: null, count: 2, status: 200 });
  });

  it('gives planned and estimated counts', async () => {
    const planned = await db.from('posts').select('id', { count: 'planned' }).limit(1);
    expect(typeof planned.count).toBe('number');
    expect(planned.error).toBeNull();
    const estimated = await db.from('posts').select('id', { count: 'estimated' }).limit(1);
    expect({ count: estimated.count, status: estimated.status }).toEqual({ count: 4, status: 206 });
  });

  it('sends Content-Range and honours the Range header', async () => {
    const res = await fetch(`${stack.apiUrl}/rest/v1/posts?select=id&order=id`, {
      headers: { apikey: stack.keys.secret, range: '1-2', 'range-unit': 'items', prefer: 'count=exact' },
    });
    expect({ status: res.status, range: res.headers.get('content-range'), body: await res.json() }).toEqual({
      status: 206,
      range: '1-2/4',
      body: [{ id: 2 }, { id: 3 }],
    });
    const empty = await fetch(`${stack.apiUrl}/rest/v1/posts?select=id&id=eq.99`, { headers: { apikey: stack.keys.secret } });
    expect(empty.headers.get('content-range')).toBe('*/*');
  });

  it('answers 416 PGRST103 for an offset past the end', async () => {
    const { error, status } = await db.from('posts').select('id', { count: 'exact' }).range(10, 12);
    expect({ error, status }).toEqual({
      error: { code: 'PGRST103', details: 'An offset of 10 was requested, but there are only 4 rows.', hint: null, message: 'Requested range not satisfiable' },
      status: 416,
    });
  });
});

describe('single and maybeSingle', () => {
  it('returns one object with single()', async () => {
    const { data, error, status } = await db.from('authors').select('name').eq('id', 1).single();
    expect({ data, error, status }).toEqual({ data: { name: 'Ada' }, error: null, status: 200 });
  });

  it('answers 406 PGRST116 when single() finds no row or several', async () => {
    const none = await db.from('authors').select('name').eq('id', 99).single();
    expect({ error: none.error, status: none.status }).toEqual({
      error: { code: 'PGRST116', details: 'The result contains 0 rows', hint: null, message: 'Cannot coerce the result to a single JSON object' },
      status: 406,
    });
    const two = await db.from('authors').select('name').lte('id', 2).single();
    expect({ error: two.error, status: two.status }).toEqual({
      error: { code: 'PGRST116', details: 'The result contains 2 rows', hint: null, message: 'Cannot coerce the result to a single JSON object' },
      status: 406,
    });
  });

  it('returns null or the object with maybeSingle(), and PGRST116 for several rows', async () => {
    const none = await db.from('authors').select('name').eq('id', 99).maybeSingle();
    expect({ data: none.data, error: none.error }).toEqual({ data: null, error: null });
    const one = await db.from('authors').select('name').eq('id', 2).maybeSingle();
    expect({ data: one.data, error: one.error }).toEqual({ data: { name: 'Grace' }, error: null });
    const two = await db.from('authors').select('name').maybeSingle();
    expect({ data: two.data, status: two.status, code: two.error?.code }).toEqual({ data: null, status: 406, code: 'PGRST116' });
  });
});
