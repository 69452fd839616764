/**
 * How retrieved passages travel to the chat model. The chat function puts `formatSources(sources)` into the
 * system prompt (`streamText({ system })`); every model reads them from there — a language model because its
 * instructions say so, the offline extractive model with {@link parseSources}. Answers cite a source by its
 * marker `[id]` ({@link citationMarker}); {@link citedSourceIds} reads the markers back out of an answer.
 *
 * The block is XML-like, one element per source, text escaped so that nothing inside it can end an element:
 *
 * ```text
 * <sources>
 * <source id="1" document="report.pdf" page="3">
 * Revenue grew 12% &lt;see table 2&gt;.
 * </source>
 * <source id="2" document="notes.md">
 * …
 * </source>
 * </sources>
 * ```
 *
 * `&`, `<` and `>` are written as `&amp;`, `&lt;`, `&gt;` (and `"` as `&quot;` in attributes), exactly as XML
 * escapes them, so a text containing `</source>` or a literal `&lt;` comes back unchanged.
 */

/** One retrieved passage as the model sees it. */
export interface PromptSource {
  /** The number the answer cites it by (`[id]`): a positive integer, unique within one prompt. */
  id: number;
  /** The document's name as shown to the user, e.g. its file name. */
  document: string;
  /** The 1-based page the passage starts on, for paged documents. */
  page?: number;
  /** The passage itself. */
  text: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const UNESCAPES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"' };

const escapeText = (text: string) => text.replace(/[&<>]/g, (char) => ESCAPES[char]);
const escapeAttribute = (text: string) => text.replace(/[&<>"]/g, (char) => ESCAPES[char]);
// One pass, so "&amp;lt;" becomes "&lt;" and not "<".
const unescape = (text: string) => text.replace(/&(amp|lt|gt|quot);/g, (_, name: string) => UNESCAPES[name]);

const isPositiveInteger = (value: unknown): value is number => Number.isInteger(value) && (value as number) > 0;

/**
 * The sources block for the system prompt (see the module comment); `<sources>\n</sources>` for none, so a model
 * can still be told that nothing was found. Throws a `RangeError` for an `id` or `page` that is not a positive
 * integer and for duplicate ids, which are programming errors: answers could not cite such sources.
 */
export function formatSources(sources: readonly PromptSource[]): string {
  const seen = new Set<number>();
  const elements = sources.map((source) => {
    if (!isPositiveInteger(source.id)) throw new RangeError(`formatSources: id must be a positive integer, got ${source.id}`);
    if (source.page !== undefined && !isPositiveInteger(source.page)) {
      throw new RangeError(`formatSources: page must be a positive integer, got ${source.page}`);
    }
    if (seen.has(source.id)) throw new RangeError(`formatSources: duplicate id ${source.id}`);
    seen.add(source.id);
    const page = source.page === undefined ? '' : ` page="${source.page}"`;
    return `<source id="${source.id}" document="${escapeAttribute(source.document)}"${page}>\n${escapeText(source.text)}\n</source>\n`;
  });
  return `<sources>\n${elements.join('')}</sources>`;
}

const BLOCK = /<sources>([\s\S]*?)<\/sources>/g;
const ELEMENT = /<source(\s[^<>]*)?>\n?([\s\S]*?)\n?<\/source>/g;
const ATTRIBUTE = /([A-Za-z_][\w.-]*)="([^"]*)"/g;

/**
 * The sources in `text` (a system prompt), in order: every `<source>` element inside a `<sources>` block as
 * {@link formatSources} writes it. Elements without a positive integer `id` or without `document` are skipped,
 * as are unknown attributes, so `parseSources(formatSources(x))` equals `x` and nothing else is ever cited.
 */
export function parseSources(text: string): PromptSource[] {
  const sources: PromptSource[] = [];
  for (const [, block] of text.matchAll(BLOCK)) {
    for (const [, attributeText = '', body] of block.matchAll(ELEMENT)) {
      const attributes = new Map<string, string>();
      for (const [, name, value] of attributeText.matchAll(ATTRIBUTE)) attributes.set(name, unescape(value));
      const id = Number(attributes.get('id'));
      const document = attributes.get('document');
      if (!isPositiveInteger(id) || document === undefined) continue;
      const source: PromptSource = { id, document, text: unescape(body) };
      const page = Number(attributes.get('page'));
      if (isPositiveInteger(page)) source.page = page;
      sources.push(source);
    }
  }
  return sources;
}

/** The marker an answer uses to cite source `id`: `[id]`. */
export function citationMarker(id: number): string {
  return `[${id}]`;
}

/**
 * The ids an answer cites, in order of first citation and without repeats. Reads `[2]` as well as the grouped
 * forms language models also write, `[1, 3]` and `[1][3]`.
 */
export function citedSourceIds(answer: string): number[] {
  const ids = new Set<number>();
  for (const [, group] of answer.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g)) {
    for (const id of group.split(',').map(Number)) if (isPositiveInteger(id)) ids.add(id);
  }
  return [...ids];
}
