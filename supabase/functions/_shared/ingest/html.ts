import { Parser } from 'htmlparser2';
import { IngestError } from './errors.ts';
import { cleanTitle, type HeadingMark } from './headings.ts';
import { checkLength, TextBuilder } from './text.ts';

/** Visible text extracted from HTML, with where its headings are. */
export interface HtmlText {
  text: string;
  headings: HeadingMark[];
}

// Never rendered as text (or only as noise): their whole subtree is dropped.
const SKIP = new Set(['script', 'style', 'template', 'head', 'title', 'noscript', 'svg', 'iframe', 'object', 'canvas']);
// Blocks that stand apart like paragraphs (a blank line) or start a new line.
const PARAGRAPH = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'ul', 'ol', 'dl', 'table', 'blockquote', 'pre', 'figure', 'hr', 'section',
  'article', 'header', 'footer', 'nav', 'aside', 'main', 'form', 'fieldset', 'details', 'address',
]);
const LINE = new Set(['div', 'li', 'tr', 'br', 'dt', 'dd', 'figcaption', 'summary', 'legend', 'caption', 'option']);
const HEADING = /^h([1-6])$/;
const HIDDEN_STYLE = /display\s*:\s*none|visibility\s*:\s*hidden/i;

/**
 * Extracts the text a reader sees from HTML: no script/style/template/head content, no hidden elements; block
 * elements become line breaks (paragraph-like ones a blank line), list items start with `- ` or `1. `, table cells
 * are joined with ` | `, whitespace collapses as in rendering (except in `<pre>`), entities are decoded, and
 * `h1`–`h6` are reported as headings. Parsing is a single streaming pass (htmlparser2); nesting deeper than
 * `maxDepth` elements is refused because the parser's work per tag grows with depth.
 */
export function htmlToText(html: string, limits: { maxChars: number; maxDepth: number }): HtmlText {
  const out = new TextWriter(limits.maxChars);
  const headings: HeadingMark[] = [];
  const stack: string[] = [];
  const lists: Array<{ ordered: boolean; count: number }> = [];
  let skipFrom = -1;
  let pre = 0;
  let cells = 0;
  let cellsInRow = 0;
  let heading: { level: number; at: number; title: string } | undefined;

  const blockBreak = (lines: 1 | 2) => {
    // Inside a table cell, blocks (Word puts a <p> in every cell) only separate words, so a row stays one line.
    if (cells > 0) out.space();
    else out.lineBreak(lines);
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        stack.push(name);
        if (stack.length > limits.maxDepth) {
          throw new IngestError('too_deeply_nested', `This page has elements nested more than ${limits.maxDepth} levels deep, more than we can read. Simplify its structure, then upload it again.`);
        }
        if (skipFrom >= 0) return;
        if (heading) heading.title += ' ';
        if (SKIP.has(name) || 'hidden' in attribs || attribs['aria-hidden'] === 'true' || HIDDEN_STYLE.test(attribs.style ?? '')) {
          skipFrom = stack.length;
          return;
        }
        const level = HEADING.exec(name)?.[1];
        if (level && !heading && cells === 0) {
          out.lineBreak(2);
          heading = { level: Number(level), at: -1, title: '' };
          return;
        }
        if (name === 'pre') pre += 1;
        if (name === 'ul' || name === 'ol') lists.push({ ordered: name === 'ol', count: 0 });
        if (name === 'tr') cellsInRow = 0;
        if (name === 'td' || name === 'th') {
          if (cellsInRow > 0) out.separator(' | ');
          cellsInRow += 1;
          cells += 1;
          return;
        }
        if (name === 'li') {
          blockBreak(1);
          const list = lists[lists.length - 1];
          if (list && cells === 0) out.prefix(list.ordered ? `${(list.count += 1)}. ` : '- ');
          return;
        }
        if (name === 'br') out.newline();
        else if (PARAGRAPH.has(name)) blockBreak(2);
        else if (LINE.has(name)) blockBreak(1);
      },
      ontext(data) {
        if (skipFrom >= 0) return;
        const at = out.text(data, pre > 0);
        if (heading) {
          if (heading.at < 0 && at >= 0) heading.at = at;
          heading.title += data;
        }
      },
      onclosetag(name) {
        const depth = stack.length;
        stack.pop();
        if (skipFrom >= 0) {
          if (depth === skipFrom) skipFrom = -1;
          return;
        }
        const level = HEADING.exec(name)?.[1];
        if (level && heading && heading.level === Number(level)) {
          if (heading.at >= 0) {
            const title = cleanTitle(heading.title);
            if (title !== '') headings.push({ at: heading.at, end: out.length, level: heading.level, title });
          }
          heading = undefined;
          out.lineBreak(2);
          return;
        }
        if (name === 'pre') pre -= 1;
        if (name === 'ul' || name === 'ol') lists.pop();
        if (name === 'td' || name === 'th') cells -= 1;
        else if (PARAGRAPH.has(name)) blockBreak(2);
        else if (LINE.has(name) && name !== 'br') blockBreak(1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.write(html);
  parser.end();
  return { text: out.toString(), headings };
}

/** Builds text as rendering would lay it out: pending breaks and spaces are only written before more text. */
class TextWriter {
  private readonly builder = new TextBuilder();
  private newlines = 0;
  private pendingSpace = false;
  private pendingSeparator = '';
  private pendingPrefix = '';
  private atLineStart = true;

  constructor(private readonly maxChars: number) {}

  /** Asks for a line break (1) or a blank line (2) before the next text. */
  lineBreak(lines: 1 | 2): void {
    this.newlines = Math.max(this.newlines, lines);
    this.pendingSpace = false;
    this.pendingSeparator = '';
  }

  /** A hard line break (`<br>`): consecutive ones add up, to a blank line at most. */
  newline(): void {
    this.newlines = Math.min(2, this.newlines + 1);
    this.pendingSpace = false;
    this.pendingSeparator = '';
  }

  space(): void {
    if (!this.atLineStart || this.newlines > 0) this.pendingSpace = true;
  }

  separator(value: string): void {
    this.pendingSeparator = value;
  }

  prefix(value: string): void {
    this.pendingPrefix = value;
  }

  /** Appends a text node; returns where its first visible character landed, or -1 if it had none. */
  text(data: string, preformatted: boolean): number {
    if (preformatted) {
      if (data === '') return -1;
      this.flush();
      const at = this.length;
      this.write(data.replace(/\r\n?/g, '\n'));
      this.atLineStart = data.endsWith('\n');
      return at;
    }
    const collapsed = data.replace(/\s+/g, ' ');
    const core = collapsed.trim();
    if (core === '') {
      if (collapsed !== '') this.space();
      return -1;
    }
    if (collapsed.startsWith(' ')) this.space();
    this.flush();
    const at = this.length;
    this.write(core);
    this.pendingSpace = collapsed.endsWith(' ');
    return at;
  }

  get length(): number {
    return this.builder.length;
  }

  toString(): string {
    return this.builder.toString();
  }

  private flush(): void {
    if (this.newlines > 0 && this.length > 0) {
      this.write('\n'.repeat(this.newlines));
      this.atLineStart = true;
    } else if (this.pendingSeparator !== '' && !this.atLineStart) {
      this.write(this.pendingSeparator);
    } else if (this.pendingSpace && !this.atLineStart) {
      this.write(' ');
    }
    if (this.pendingPrefix !== '') this.write(this.pendingPrefix);
    this.newlines = 0;
    this.pendingSpace = false;
    this.pendingSeparator = '';
    this.pendingPrefix = '';
  }

  private write(value: string): void {
    this.builder.append(value);
    this.atLineStart = false;
    checkLength(this.builder.length, this.maxChars);
  }
}
