import { isSpace, sliceSection } from './text.ts';
import type { Section } from './types.ts';

/** A heading found in a text: where it starts and ends there, its level (1–6) and its plain-text title. */
export interface HeadingMark {
  at: number;
  end: number;
  level: number;
  title: string;
}

/**
 * Splits a text into one section per heading (from the heading to the next one) plus the text before the first,
 * each knowing its heading path. A heading with nothing under it but deeper headings gets no section of its own:
 * its title is already in the path of every section below it.
 */
export function sectionsAtHeadings(text: string, marks: HeadingMark[]): Section[] {
  const headings = marks.filter((mark) => mark.title !== '');
  const sections: Section[] = [];
  const preamble = sliceSection(text, 0, headings[0]?.at ?? text.length, { headings: [] });
  if (preamble) sections.push(preamble);
  const path: HeadingMark[] = [];
  headings.forEach((heading, i) => {
    while (path.length > 0 && path[path.length - 1].level >= heading.level) path.pop();
    path.push(heading);
    const next = headings[i + 1];
    const to = next?.at ?? text.length;
    if (next && next.level > heading.level && isBlank(text, heading.end, to)) return;
    const section = sliceSection(text, heading.at, to, { headings: path.map((mark) => mark.title) });
    if (section) sections.push(section);
  });
  return sections;
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(text.charCodeAt(i))) return false;
  return true;
}

/** Longest heading title kept in a heading path, in characters. */
export const MAX_TITLE_CHARS = 200;

/** A heading title as one line: inner whitespace collapsed, ends trimmed, at most {@link MAX_TITLE_CHARS}. */
export function cleanTitle(title: string): string {
  const clean = title.replace(/\s+/g, ' ').trim();
  return clean.length > MAX_TITLE_CHARS ? `${clean.slice(0, MAX_TITLE_CHARS - 1).replace(/[\uD800-\uDBFF]$/, '').trimEnd()}…` : clean;
}
