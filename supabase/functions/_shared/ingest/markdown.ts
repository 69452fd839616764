import { Lexer, type Token } from 'marked';
import { IngestError, isStackOverflow } from './errors.ts';
import { cleanTitle, type HeadingMark, sectionsAtHeadings } from './headings.ts';
import { sliceSection } from './text.ts';
import type { Section } from './types.ts';

const FRONT_MATTER = /^---\n[\s\S]*?\n(?:---|\.\.\.)[ \t]*(?:\n|$)/;
// Base64 payloads of embedded images (`![](data:image/png;base64,…)`): no words to search, and megabytes of
// them would turn into thousands of meaningless chunks.
const DATA_URI = /(?:!\[[^\]\n]{0,200}\]\()?data:[\w.+-]+\/[\w.+-]+;base64,[A-Za-z0-9+/=]{200,}\)?/g;

/**
 * Markdown: one section per heading, found with marked's block lexer, so `#` lines inside code fences, lists or
 * quotes are not headings (only top-level ATX and setext headings start sections). A YAML front matter block is
 * kept as text but not lexed (its closing `---` would read as a setext underline). Base64 payloads of embedded
 * images are left out of the sections (the text around them stays, offsets unchanged).
 */
export function markdownSections(text: string): Section[] {
  const bodyStart = FRONT_MATTER.exec(text)?.[0].length ?? 0;
  const lexer = new Lexer();
  let tokens: Token[];
  try {
    // Block level only: inline lexing of every paragraph would cost about as much again and is not needed.
    tokens = lexer.blockTokens(text.slice(bodyStart));
  } catch (error) {
    if (isStackOverflow(error)) {
      throw new IngestError('too_deeply_nested', 'This Markdown file has lists or quotes nested too deeply for us to read. Simplify its structure, then upload it again.', { cause: error });
    }
    throw error;
  }
  const marks: HeadingMark[] = [];
  let offset = bodyStart;
  for (const token of tokens) {
    let at = offset;
    // Top-level raws tile the input; search only if a marked version ever normalises a token's raw text.
    if (!text.startsWith(token.raw, at)) {
      at = text.indexOf(token.raw, offset);
      if (at < 0) continue;
    }
    if (token.type === 'heading') {
      marks.push({ at, end: at + token.raw.length, level: token.depth, title: cleanTitle(plainText(lexer.inlineTokens(token.text))) });
    }
    offset = at + token.raw.length;
  }
  return sectionsAtHeadings(text, marks).flatMap(withoutDataUris);
}

/** The parts of a section around embedded base64 payloads, which are left out of it. */
function withoutDataUris(section: Section): Section[] {
  if (!section.text.includes(';base64,')) return [section];
  const parts: Section[] = [];
  let from = 0;
  for (const match of section.text.matchAll(DATA_URI)) {
    const part = sliceSection(section.text, from, match.index, { headings: section.headings });
    if (part) parts.push({ ...part, start: section.start + part.start });
    from = match.index + match[0].length;
  }
  const rest = sliceSection(section.text, from, section.text.length, { headings: section.headings });
  if (rest) parts.push({ ...rest, start: section.start + rest.start });
  return parts;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", nbsp: ' ' };

/** The visible text of inline tokens: emphasis, links and code spans reduced to their text. */
function plainText(tokens: Token[]): string {
  let out = '';
  for (const token of tokens) {
    if (token.type === 'html') continue;
    if (token.type === 'br') out += ' ';
    else if ('tokens' in token && Array.isArray(token.tokens) && token.tokens.length > 0) out += plainText(token.tokens);
    else if ('text' in token && typeof token.text === 'string') out += token.text;
  }
  return out.replace(/&(amp|lt|gt|quot|#39|nbsp);/g, (_match, name: string) => ENTITIES[name]);
}
