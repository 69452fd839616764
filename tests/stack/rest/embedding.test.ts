import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useRestStack } from './helpers.ts';

const t = useRestStack((stack) =>
  stack.db.query(`
    create table public.staff (
      id int primary key,
      name text not null,
      manager_id int constraint staff_manager_fk references public.staff (id)
    );
    insert into public.staff values (1, 'Boss', null), (2, 'Ann', 1), (3, 'Bob', 1);
    create table public.tickets (
      id serial primary key,
      title text not null,
      status text not null default 'open'
    );
    grant select, insert on public.staff, public.tickets to service_role;
    create function public.shout_name(public.authors) returns text
      language sql stable set search_path = '' as $$ select pg_catalog.upper($1.name) $$;
    create function public.written(public.authors) returns setof public.posts
      language sql stable set search_path = '' as $$ select * from public.posts where author_id = $1.id $$;
    create function public.latest_post(public.authors) returns setof public.posts rows 1
      language sql stable set search_path = '' as $$ select * from public.posts where author_id = $1.id order by id desc limit 1 $$;
    grant execute on function public.shout_name(public.authors), public.written(public.authors), public.latest_post(public.authors) to service_role;
    grant usage on sequence public.tickets_id_seq to service_role;`),
);

describe('embedding by foreign key constraint name', () => {
  it('embeds the referenced row with alias:fk_name(*) from the referencing side', async () => {
    const { data, error } = await t.db.from('posts').select('id,writer:posts_author_id_fkey(name),editor:posts_editor_id_fkey(name)').eq('id', 3);
    expect({ data, error }).toEqual({ data: [{ id: 3, writer: { name: 'Grace' }, editor: { name: 'Ada' } }], error: null });
  });

  it('embeds the referencing rows with the constraint name from the referenced side', async () => {
    const { data, error } = await t.db.from('authors').select('name,edited:posts_editor_id_fkey(title)').eq('id', 1);
    expect({ data, error }).toEqual({ data: [{ name: 'Ada', edited: [{ title: 'Compilers' }] }], error: null });
  });
});

describe('refusals', () => {
  it('refuses the same destination embedded twice under one name, as PostgREST does (400 42712)', async () => {
    const { error, status } = await t.db.from('posts').select('id,comments(id),comments(content)');
    expect({ error, status }).toEqual({
      error: { code: '42712', details: null, hint: null, message: 'table name "posts_comments_1" specified more than once' },
      status: 400,
    });
  });

  it('embeds the same destination twice under different aliases', async () => {
    const { data, error } = await t.db.from('posts').select('id,a:authors!author_id(name),b:authors!author_id(id)').eq('id', 1);
    expect({ data, error }).toEqual({ data: [{ id: 1, a: { name: 'Ada' }, b: { id: 1 } }], error: null });
  });
});

describe('self-referencing tables', () => {
  it('embeds the parent row over a self-referencing key named by its constraint', async () => {
    const { data, error } = await t.db.from('staff').select('name,manager:staff_manager_fk(name)').order('id');
    expect({ data, error }).toEqual({
      data: [
        { name: 'Boss', manager: null },
        { name: 'Ann', manager: { name: 'Boss' } },
        { name: 'Bob', manager: { name: 'Boss' } },
      ],
      error: null,
    });
  });

  it("embeds the child rows over a self-referencing key by the table's own name (with the key as hint)", async () => {
    const { data, error } = await t.db.from('staff').select('name,reports:staff!manager_id(name)').eq('id', 1).order('id', { referencedTable: 'reports' });
    expect({ data, error }).toEqual({ data: [{ name: 'Boss', reports: [{ name: 'Ann' }, { name: 'Bob' }] }], error: null });
    const plain = await t.db.from('staff').select('name,staff(name)').eq('id', 2);
    expect({ data: plain.data, error: plain.error }).toEqual({ data: [{ name: 'Ann', staff: [] }], error: null });
  });

  it('embeds the parent row over a self-referencing key named by its column', async () => {
    const { data, error } = await t.db.from('staff').select('name,manager_id(name)').eq('id', 2);
    expect({ data, error }).toEqual({ data: [{ name: 'Ann', manager_id: { name: 'Boss' } }], error: null });
  });
});

describe('computed fields and relationships', () => {
  it('selects, filters and orders by a computed field', async () => {
    const { data, error } = await t.db.from('authors').select('id,loud:shout_name').neq('shout_name', 'GRACE').order('shout_name', { ascending: false });
    expect({ data, error }).toEqual({ data: [{ id: 3, loud: 'LINUS, JR.' }, { id: 1, loud: 'ADA' }], error: null });
  });

  it('embeds a set-returning function of the row as a to-many relationship', async () => {
    const { data, error } = await t.db.from('authors').select('name,written(id,title)').eq('id', 1).order('id', { referencedTable: 'written' });
    expect({ data, error }).toEqual({
      data: [{ name: 'Ada', written: [{ id: 1, title: 'Analytical engine notes' }, { id: 2, title: 'On Bernoulli numbers' }] }],
      error: null,
    });
  });

  it('embeds a `setof … rows 1` function of the row as a to-one relationship', async () => {
    const { data, error } = await t.db.from('authors').select('name,latest_post(title)').in('id', [1, 3]).order('id');
    expect({ data, error }).toEqual({
      data: [
        { name: 'Ada', latest_post: { title: 'On Bernoulli numbers' } },
        { name: 'Linus, Jr.', latest_post: null },
      ],
      error: null,
    });
  });
});

describe('relationships through views', () => {
  // Views that pass a key through add relationships under the same constraint names, so they live only here.
  beforeAll(async () => {
    await t.stack.db.query(`
      create view public.published_posts as select id as post_id, author_id as writer, title from public.posts where published;
      create view public.writers as select id, name from public.authors;
      grant select on public.published_posts, public.writers to service_role;`);
  });
  afterAll(async () => {
    await t.stack.db.query('drop view public.published_posts, public.writers');
  });

  it('embeds a table from a view whose columns pass the foreign key through (renamed)', async () => {
    const { data, error } = await t.db.from('published_posts').select('post_id,authors(name)').order('post_id');
    expect({ data, error }).toEqual({
      data: [
        { post_id: 1, authors: { name: 'Ada' } },
        { post_id: 2, authors: { name: 'Ada' } },
      ],
      error: null,
    });
  });

  it('embeds a view from a table and a view from a view', async () => {
    const fromTable = await t.db.from('authors').select('name,published_posts(title)').eq('id', 1);
    expect({ data: fromTable.data, error: fromTable.error }).toEqual({
      data: [{ name: 'Ada', published_posts: [{ title: 'Analytical engine notes' }, { title: 'On Bernoulli numbers' }] }],
      error: null,
    });
    const fromView = await t.db.from('writers').select('name,published_posts(post_id)').eq('id', 2);
    expect({ data: fromView.data, error: fromView.error }).toEqual({ data: [{ name: 'Grace', published_posts: [] }], error: null });
  });

  describe('views of views', () => {
    beforeAll(async () => {
      // Two levels over posts, renaming the key again; one level over writers (itself a view), in another order.
      await t.stack.db.query(`
        create view public.recent_published as select writer as by_writer, post_id, title from public.published_posts;
        create view public.recent_titles as select title, by_writer as author_ref from public.recent_published;
        create view public.famous_writers as select name, id as writer_id from public.writers;
        create view public.untraceable as select title, (select p.author_id from public.posts p limit 1) as author_id from public.published_posts;
        grant select on public.recent_published, public.recent_titles, public.famous_writers, public.untraceable to service_role;`);
    });
    afterAll(async () => {
      await t.stack.db.query('drop view public.recent_titles, public.recent_published, public.famous_writers, public.untraceable');
    });

    it('embeds a table from a view two views away from it', async () => {
      const { data, error } = await t.db.from('recent_titles').select('title,authors(name)').order('title');
      expect({ data, error }).toEqual({
        data: [
          { title: 'Analytical engine notes', authors: { name: 'Ada' } },
          { title: 'On Bernoulli numbers', authors: { name: 'Ada' } },
        ],
        error: null,
      });
    });

    it('embeds between two chains of views, both ways', async () => {
      const down = await t.db.from('famous_writers').select('name,recent_titles(title)').eq('writer_id', 1);
      expect({ data: down.data, error: down.error }).toEqual({
        data: [{ name: 'Ada', recent_titles: [{ title: 'Analytical engine notes' }, { title: 'On Bernoulli numbers' }] }],
        error: null,
      });
      const up = await t.db.from('recent_published').select('post_id,famous_writers(name)').order('post_id').limit(1);
      expect({ data: up.data, error: up.error }).toEqual({ data: [{ post_id: 1, famous_writers: { name: 'Ada' } }], error: null });
    });

    it('finds no relationship through a column the view computes', async () => {
      const { error, status } = await t.db.from('untraceable').select('title,authors(name)');
      expect({ code: (error as { code?: string } | null)?.code, status }).toEqual({ code: 'PGRST200', status: 400 });
    });
  });
});

describe('spread on to-many relationships', () => {
  it('turns each column of a spread one-to-many embed into an array', async () => {
    const { data, error } = await t.db.from('posts').select('id,...comments(texts:content,comment_ids:id)').in('id', [1, 4]).order('id').order('id', { referencedTable: 'comments' });
    expect({ data, error }).toEqual({
      data: [
        { id: 1, texts: ['Brilliant', 'Visionary'], comment_ids: [1, 2] },
        { id: 4, texts: [], comment_ids: [] },
      ],
      error: null,
    });
  });

  it('turns a spread many-to-many embed into an array', async () => {
    const { data, error } = await t.db.from('posts').select('id,...labels(names:label)').eq('id', 1);
    expect(error).toBeNull();
    expect((data as Array<{ names: string[] }>)[0].names.sort()).toEqual(['history', 'math']);
  });
});

describe('bulk insert with missing=default', () => {
  it('uses column defaults for absent keys, keeps the rows in order and takes one sequence value per row', async () => {
    const { data, error } = await t.db
      .from('tickets')
      .insert([{ title: 'a' }, { title: 'b', status: 'closed' }, { title: 'c' }], { defaultToNull: false })
      .select('id,title,status');
    expect({ data, error }).toEqual({
      data: [
        { id: 1, title: 'a', status: 'open' },
        { id: 2, title: 'b', status: 'closed' },
        { id: 3, title: 'c', status: 'open' },
      ],
      error: null,
    });
    const { rows } = await t.stack.db.query("select last_value::int as last from public.tickets_id_seq");
    expect(rows).toEqual([{ last: 3 }]);
  });

  it('evaluates a serial default only for the rows that leave the key out, with columns given', async () => {
    const { data, error } = await t.db
      .from('tickets')
      .insert([{ id: 50, title: 'x' }, { title: 'y' }], { defaultToNull: false })
      .select('id,title');
    expect({ data, error }).toEqual({ data: [{ id: 50, title: 'x' }, { id: 4, title: 'y' }], error: null });
    const { rows } = await t.stack.db.query("select last_value::int as last from public.tickets_id_seq");
    expect(rows).toEqual([{ last: 4 }]);
  });
});
