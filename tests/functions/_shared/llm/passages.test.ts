import { describe, expect, it } from 'vitest';
import { rankPassages, splitSentences, terms } from '../../../../supabase/functions/_shared/llm/passages.ts';

describe('terms', () => {
  it('reduces inflections to one stem and drops stop words', () => {
    expect(terms('The warranty lasts; it lasted, lasting warranties')).toEqual(['warranty', 'last', 'last', 'last', 'warranty']);
    expect(terms('files filed filing')).toEqual(['fil', 'fil', 'fil']);
  });

  it('ignores case and accents and keeps numbers and codes whole', () => {
    expect(terms('Café CAFE x200 2024 a 7')).toEqual(['caf', 'caf', 'x200', '2024', '7']);
  });
});

describe('splitSentences', () => {
  it('joins hard-wrapped lines, splits at sentence ends and list items, and drops markers', () => {
    const text = '# Setup\n\nInstall the\ndock first. Then charge\nit, e.g. overnight.\n- Keep it dry.\n2. Clean the filter.';

    expect(splitSentences(text)).toEqual([
      'Setup',
      'Install the dock first.',
      'Then charge it, e.g. overnight.',
      'Keep it dry.',
      'Clean the filter.',
    ]);
  });
});

describe('rankPassages', () => {
  it('quotes a long sentence as a slice of at most maxWords words, marking the cut', () => {
    const long = `${Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ')} refund policy ${Array.from({ length: 30 }, (_, i) => `tail${i}`).join(' ')}`;

    const [passage] = rankPassages('refund policy', [{ id: 1, document: 'd', text: long }], { maxWords: 20 });

    expect(passage.text).toBe(`…${Array.from({ length: 10 }, (_, i) => `word${i + 20}`).join(' ')} refund policy ${Array.from({ length: 8 }, (_, i) => `tail${i}`).join(' ')}…`);
    expect(passage.text.split(' ')).toHaveLength(20);
  });

  it('quotes a sentence repeated by overlapping chunks once, for the first source', () => {
    const sources = [
      { id: 1, document: 'd', text: 'Refunds take five days. Shipping is free.' },
      { id: 2, document: 'd', text: 'Shipping is free. Refunds take five days.' },
    ];

    expect(rankPassages('refunds', sources)).toEqual([{ sourceId: 1, text: 'Refunds take five days.', score: expect.any(Number) }]);
  });

  it('breaks ties by source order, then sentence order', () => {
    const sources = [
      { id: 7, document: 'd', text: 'The invoice is blue. The invoice is red.' },
      { id: 3, document: 'd', text: 'The invoice is green.' },
    ];

    expect(rankPassages('invoice', sources).map((p) => [p.sourceId, p.text])).toEqual([
      [7, 'The invoice is blue.'],
      [7, 'The invoice is red.'],
      [3, 'The invoice is green.'],
    ]);
  });

  it('leaves out passages scoring under half the best one', () => {
    const sources = [
      { id: 1, document: 'd', text: 'The premium plan costs 20 euros per month.' },
      { id: 2, document: 'd', text: 'Support is included in every plan.' },
    ];

    const ranked = rankPassages('How much does the premium plan cost per month?', sources);
    const [alone] = rankPassages('How much does the premium plan cost per month?', sources.slice(1));

    expect(ranked.map((p) => p.sourceId)).toEqual([1]);
    // the weak passage does match on its own; it is the comparison with the best that leaves it out
    expect(alone.sourceId).toBe(2);
  });
});
