import { describe, expect, it } from 'vitest';
import {
  citationMarker,
  citedSourceIds,
  formatSources,
  parseSources,
  type PromptSource,
} from '../../../../supabase/functions/_shared/llm/index.ts';

describe('formatSources', () => {
  it('writes one source element per passage inside a sources block', () => {
    expect(
      formatSources([
        { id: 1, document: 'report.pdf', page: 3, text: 'Revenue grew 12%.' },
        { id: 2, document: 'notes.md', text: 'See the report.' },
      ]),
    ).toBe(
      '<sources>\n' +
        '<source id="1" document="report.pdf" page="3">\nRevenue grew 12%.\n</source>\n' +
        '<source id="2" document="notes.md">\nSee the report.\n</source>\n' +
        '</sources>',
    );
  });

  it('writes an empty block for no sources', () => {
    expect(formatSources([])).toBe('<sources>\n</sources>');
  });

  it('escapes markup in text and attributes the way XML does', () => {
    expect(formatSources([{ id: 1, document: 'a "b" <c>.txt', text: 'x < y && y > z' }])).toBe(
      '<sources>\n<source id="1" document="a &quot;b&quot; &lt;c&gt;.txt">\nx &lt; y &amp;&amp; y &gt; z\n</source>\n</sources>',
    );
  });

  it('refuses ids and pages that answers could not cite', () => {
    expect(() => formatSources([{ id: 0, document: 'd', text: 't' }])).toThrow(RangeError);
    expect(() => formatSources([{ id: 1.5, document: 'd', text: 't' }])).toThrow(RangeError);
    expect(() => formatSources([{ id: 1, document: 'd', page: -2, text: 't' }])).toThrow(RangeError);
    expect(() => formatSources([{ id: 1, document: 'd', text: 't' }, { id: 1, document: 'e', text: 'u' }])).toThrow('duplicate id 1');
  });
});

describe('parseSources', () => {
  it('round-trips sources whose text holds markup, quotes, entities and the closing tags themselves', () => {
    const sources: PromptSource[] = [
      { id: 1, document: 'report.pdf', page: 3, text: 'if a < b and c > d then "quote" & \'apostrophe\'' },
      { id: 2, document: 'tricky "name" <x>.md', text: 'ends early?</source> no. </sources> neither. <source id="9" document="fake">' },
      { id: 3, document: 'html.html', text: 'literal entities stay literal: &lt; &amp;lt; &quot; &#39; &gt;' },
      { id: 4, document: 'blank.txt', text: '' },
      { id: 5, document: 'spacing.txt', text: '\n  leading and trailing newlines and spaces survive  \n\n' },
      { id: 12, document: 'ünïcødé 文件.txt', page: 120, text: 'Zeilen\r\nmit CRLF\tund Tabs ✓' },
    ];

    expect(parseSources(formatSources(sources))).toStrictEqual(sources);
  });

  it('finds the block inside a larger system prompt and ignores everything around it', () => {
    const system = `You answer from the sources below and cite them as [n].\n\n${formatSources([
      { id: 4, document: 'a.txt', text: 'alpha' },
    ])}\n\nIf they do not contain the answer, say so.`;

    expect(parseSources(system)).toStrictEqual([{ id: 4, document: 'a.txt', text: 'alpha' }]);
  });

  it('reads nothing outside a sources block, so instructions may show an example element', () => {
    expect(parseSources('Sources look like <source id="1" document="x">text</source>.')).toStrictEqual([]);
  });

  it('skips elements without a usable id or document and ignores unknown attributes', () => {
    const text =
      '<sources>\n' +
      '<source document="no-id.txt">\nA\n</source>\n' +
      '<source id="x" document="bad-id.txt">\nB\n</source>\n' +
      '<source id="2">\nno document\n</source>\n' +
      '<source id="3" document="ok.txt" page="zero" lang="en">\nC\n</source>\n' +
      '</sources>';

    expect(parseSources(text)).toStrictEqual([{ id: 3, document: 'ok.txt', text: 'C' }]);
  });
});

describe('citations', () => {
  it('marks a source as [id]', () => {
    expect(citationMarker(7)).toBe('[7]');
  });

  it('reads cited ids in order of first citation, including grouped markers', () => {
    expect(citedSourceIds('Growth was 12% [2]. Costs fell [1, 3][2]. See also [4][1]. Not a citation: [x] [0].')).toEqual([2, 1, 3, 4]);
  });
});
