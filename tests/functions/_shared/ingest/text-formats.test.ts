import { describe, expect, it } from 'vitest';
import { IngestError } from '../../../../supabase/functions/_shared/ingest/errors.ts';
import { parseDocument } from '../../../../supabase/functions/_shared/ingest/parse.ts';
import { sentences, utf8 } from './fixtures.ts';
import { ingest, sectionsOf } from './ingest.ts';

async function failure(promise: Promise<unknown>): Promise<IngestError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(IngestError);
  return error as IngestError;
}

async function sections(text: string, mimeType: string) {
  return sectionsOf(await parseDocument(utf8(text), mimeType));
}

describe('plain text', () => {
  it('keeps a text file as one section without a heading path', async () => {
    const result = await ingest(utf8(`\n\n${sentences(3)}\n`), 'text/plain');
    expect(result.sections).toEqual([{ text: sentences(3), start: 2, headings: [] }]);
  });

  it('drops a byte order mark and normalises CRLF line endings, so offsets count the text as extracted', async () => {
    const result = await ingest(utf8('\ufeffFirst line.\r\nSecond line.\rThird.'), 'text/plain');
    expect(result.text).toBe('First line.\nSecond line.\nThird.');
    expect(result.chunks[0].metadata).toMatchObject({ start: 0, end: result.text!.length });
  });
});

describe('markdown', () => {
  const guide = [
    '# Guide',
    '',
    'Welcome text.',
    '',
    '## Install',
    '',
    '### Linux',
    '',
    sentences(40, 'linux'),
    '',
    '```sh',
    '# not a heading, a shell comment',
    'make install',
    '```',
    '',
    '## Use',
    '',
    'Run it.',
  ].join('\n');

  it('keeps the heading path on every chunk of a markdown section', async () => {
    const result = await ingest(utf8(guide), 'text/markdown', {}, { maxTokens: 64, overlapTokens: 8 });
    const linux = result.chunks.filter((chunk) => chunk.content.includes('linux'));
    expect(linux.length).toBeGreaterThan(3);
    for (const chunk of linux) expect(chunk.metadata.headings).toEqual(['Guide', 'Install', 'Linux']);
    expect(result.chunks.at(-1)!.metadata.headings).toEqual(['Guide', 'Use']);
  });

  it('does not take # lines inside code fences for headings', async () => {
    const found = await sections(guide, 'text/markdown');
    expect(found.map((section) => section.headings)).toEqual([['Guide'], ['Guide', 'Install', 'Linux'], ['Guide', 'Use']]);
    expect(found[1].text).toContain('# not a heading, a shell comment');
  });

  it('gives a heading with only subheadings under it no section of its own, but keeps it in their path', async () => {
    const found = await sections('# A\n\n## B\n\ntext b\n\n## C\n', 'text/markdown');
    expect(found.map((section) => [section.headings, section.text])).toEqual([
      [['A', 'B'], '## B\n\ntext b'],
      [['A', 'C'], '## C'],
    ]);
  });

  it('reads setext headings and heading markup as plain titles, and climbs back up the path', async () => {
    const found = await sections('Top *level*\n=========\n\nintro\n\n### Deep `code` [link](http://x)\n\ndeep\n\nSecond\n------\n\nsecond', 'text/markdown');
    expect(found.map((section) => section.headings)).toEqual([['Top level'], ['Top level', 'Deep code link'], ['Top level', 'Second']]);
  });

  it('keeps YAML front matter as text without reading its closing --- as a heading underline', async () => {
    const found = await sections('---\ntitle: Notes\n---\n\nIntro.\n\n# Real\n\nBody.', 'text/markdown');
    expect(found.map((section) => [section.headings, section.text])).toEqual([
      [[], '---\ntitle: Notes\n---\n\nIntro.'],
      [['Real'], '# Real\n\nBody.'],
    ]);
  });

  it('leaves the base64 payload of an embedded image out of its section, keeping the text around it', async () => {
    const payload = 'iVBORw0KGgo'.repeat(100);
    const text = `# Figure\n\nBefore the image.\n\n![chart](data:image/png;base64,${payload})\n\nAfter the image.`;
    const result = await ingest(utf8(text), 'text/markdown');
    expect(result.chunks.map((chunk) => chunk.content)).toEqual(['# Figure\n\nBefore the image.', 'After the image.']);
    for (const chunk of result.chunks) {
      expect(chunk.metadata.headings).toEqual(['Figure']);
      expect(text.slice(chunk.metadata.start, chunk.metadata.end)).toBe(chunk.content);
    }
  });

  it('refuses markdown nested so deeply that the parser would run out of stack', async () => {
    const error = await failure(parseDocument(utf8(`${'>'.repeat(100_000)} quote`), 'text/markdown'));
    expect(error.code).toBe('too_deeply_nested');
  });
});

describe('CSV', () => {
  const csv = ['\ufeffid,name,notes', '1,Ann,"multi', 'line note"', '', '2,Bob,plain', ',,', ...Array.from({ length: 30 }, (_, i) => `${i + 3},Person ${i + 3},"notes, with a comma about item ${i + 3}"`)].join('\n');

  it('repeats the header line before every chunk of rows and reports 1-based data rows', async () => {
    const result = await ingest(utf8(csv), 'text/csv', {}, { maxTokens: 64, overlapTokens: 0 });
    expect(result.chunks.length).toBeGreaterThan(3);
    let expected = 1;
    for (const chunk of result.chunks) {
      expect(chunk.context).toBe('id,name,notes');
      expect(chunk.embeddingText.startsWith('id,name,notes\n\n')).toBe(true);
      expect(chunk.content.startsWith('id,')).toBe(false);
      expect(chunk.metadata.rows!.from).toBe(expected);
      expected = chunk.metadata.rows!.to + 1;
    }
    expect(expected - 1).toBe(32);
  });

  it('keeps a quoted field with a line break inside its row, and skips blank rows', async () => {
    const [section] = await sections(csv, 'text/csv');
    expect(section.text.slice(section.breaks![0].at, section.breaks![1].at).trim()).toBe('1,Ann,"multi\nline note"');
    expect(section.breaks!.slice(0, 3).map((brk) => brk.row)).toEqual([1, 2, 3]);
    expect(section.text.slice(section.breaks![2].at).startsWith('3,Person 3')).toBe(true);
  });

  it('overlaps by whole rows only', async () => {
    const result = await ingest(utf8(csv), 'text/csv', {}, { maxTokens: 64, overlapTokens: 20 });
    for (let i = 1; i < result.chunks.length; i++) {
      const [previous, chunk] = [result.chunks[i - 1], result.chunks[i]];
      expect(chunk.metadata.rows!.from).toBeLessThanOrEqual(previous.metadata.rows!.to);
      expect(chunk.content.split('\n')[0]).toMatch(/^\d+,Person/);
    }
  });

  it('refuses a CSV with a quote that is never closed as corrupt_file, saying where', async () => {
    const error = await failure(parseDocument(utf8('a,b\n1,2\n3,"open\n4,5\n'), 'text/csv'));
    expect(error.code).toBe('corrupt_file');
    expect(error.message).toMatch(/^This CSV file could not be read because of a formatting problem near line \d+/);
  });

  it('answers no_text for a CSV whose rows are all blank', async () => {
    expect((await failure(parseDocument(utf8(',,\n , \n'), 'text/csv'))).code).toBe('no_text');
  });
});

describe('HTML', () => {
  const page = `<!doctype html><html><head><title>Tab title</title><style>p { color: red }</style>
    <script>var secret = 1;</script></head><body>
    <template><p>template text</p></template>
    <h1>Products &amp; Services</h1>
    <p>Our   <b>best</b>
       offer&nbsp;today.</p><div hidden>hidden text</div><p style="display: none">invisible</p>
    <ul><li>One</li><li>Two</li></ul><ol><li>First</li><li>Second</li></ol>
    <table><tr><th>Name</th><th>Price</th></tr><tr><td>Tea</td><td>&euro;3</td></tr></table>
    <h2>Details</h2><p>Line one<br>Line two</p><pre>  indented
    code</pre>
    <h3>Fine print</h3><p>Small.</p>
    <h2>Contact</h2><p>Mail us.</p><noscript>enable js</noscript></body></html>`;

  it('extracts only visible text, with blocks as lines, bullets, numbered items, cell columns, decoded entities and collapsed spaces', async () => {
    const document = await parseDocument(utf8(page), 'text/html');
    expect(document.text).toBe(
      'Products & Services\n\nOur best offer today.\n\n- One\n- Two\n\n1. First\n2. Second\n\nName | Price\nTea | €3\n\n' +
        'Details\n\nLine one\nLine two\n\n  indented\n    code\n\nFine print\n\nSmall.\n\nContact\n\nMail us.',
    );
  });

  it('uses h1–h6 as the heading path', async () => {
    const found = await sections(page, 'text/html');
    expect(found.map((section) => section.headings)).toEqual([
      ['Products & Services'],
      ['Products & Services', 'Details'],
      ['Products & Services', 'Details', 'Fine print'],
      ['Products & Services', 'Contact'],
    ]);
  });

  it('refuses elements nested deeper than maxDepth', async () => {
    const deep = `${'<div>'.repeat(60)}text${'</div>'.repeat(60)}`;
    await expect(parseDocument(utf8(deep), 'text/html', { limits: { maxDepth: 100 } })).resolves.toBeDefined();
    const error = await failure(parseDocument(utf8(deep), 'text/html', { limits: { maxDepth: 50 } }));
    expect(error.code).toBe('too_deeply_nested');
  });

  it('answers no_text for a page without visible text', async () => {
    expect((await failure(parseDocument(utf8('<html><head><title>x</title></head><body><script>1</script></body></html>'), 'text/html'))).code).toBe('no_text');
  });
});

describe('JSON', () => {
  const data = {
    title: 'Catalog',
    'odd key': { nested: true },
    items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `Item ${i}`, tags: ['a', 'b'], note: sentences(1, `item ${i}`) })),
  };

  it('renders the value exactly as JSON.stringify(value, null, 2) does, keys in file order', async () => {
    const document = await parseDocument(utf8(JSON.stringify(data)), 'application/json');
    expect(document.text).toBe(JSON.stringify(data, null, 2));
  });

  it('chunks a large array by element and cites the paths of the elements each chunk holds', async () => {
    const result = await ingest(utf8(JSON.stringify(data)), 'application/json', {}, { maxTokens: 96, overlapTokens: 0 });
    expect(result.chunks.length).toBeGreaterThan(5);
    const paths = result.chunks.map((chunk) => chunk.metadata.jsonPath!);
    expect(paths[0].from).toBe('$');
    expect(result.text!.includes('"odd key"')).toBe(true);
    for (const chunk of result.chunks.slice(1)) {
      // Cut where an element starts, so each later chunk starts at an item and names it.
      expect(chunk.metadata.jsonPath!.from).toMatch(/^\$\.items\[\d+\]$/);
      const index = Number(/\[(\d+)\]/.exec(chunk.metadata.jsonPath!.from)![1]);
      expect(chunk.content.startsWith(`{\n      "id": ${index},`)).toBe(true);
    }
    expect(paths.at(-1)!.to).toMatch(/^\$\.items\[39\]/);
  });

  it('refuses invalid JSON as corrupt_file', async () => {
    expect((await failure(parseDocument(utf8('{"a": 1,}'), 'application/json'))).code).toBe('corrupt_file');
  });

  it('refuses JSON nested deeper than maxDepth before parsing it', async () => {
    const deep = `${'['.repeat(300)}1${']'.repeat(300)}`;
    expect((await failure(parseDocument(utf8(deep), 'application/json'))).code).toBe('too_deeply_nested');
    const brackets = JSON.stringify({ text: '[[[[[[[[[[' });
    await expect(parseDocument(utf8(brackets), 'application/json', { limits: { maxDepth: 2 } })).resolves.toBeDefined();
  });

  it('answers no_text for JSON that holds nothing', async () => {
    for (const empty of ['{}', '[]', 'null', '""']) expect((await failure(parseDocument(utf8(empty), 'application/json'))).code).toBe('no_text');
  });
});
