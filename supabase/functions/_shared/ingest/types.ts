/** The formats the parsers read, one per accepted MIME type. */
export type DocumentFormat = 'text' | 'markdown' | 'csv' | 'html' | 'json' | 'pdf' | 'docx';

/**
 * A place where a format prefers its text to be split, stronger than the prose rules the chunker applies
 * otherwise (CSV rows, JSON elements). Carries what a chunk starting there should cite.
 */
export interface Break {
  /** Offset within the section's `text`. */
  at: number;
  /** Higher splits first; prose boundaries inside a too-long piece always rank below any break. */
  strength: number;
  /** CSV: the 1-based data row that starts here. */
  row?: number;
  /** JSON: the path of the element that starts here, e.g. `$.users[3]`. */
  path?: string;
}

/**
 * A structural part of a document, in reading order: a PDF page, a heading's section of a Markdown, HTML or DOCX
 * document, the rows of a CSV file, a whole text or JSON file. Chunks never span sections.
 */
export interface Section {
  /** The section's text, exactly as it appears in its source text at `start`. Never blank. */
  text: string;
  /** Offset of `text` in its source text: the page's text for PDFs, the document's whole extracted text otherwise. */
  start: number;
  /** Heading path, outermost first (`["Guide", "Install", "Linux"]`); empty outside any heading. */
  headings: string[];
  /** PDF: 1-based page number. */
  page?: number;
  /** Context to embed with every chunk instead of the heading path (CSV: the header line). */
  context?: string;
  /** Preferred split points, sorted by `at`, the first at 0; without them the chunker splits like prose. */
  breaks?: Break[];
}

/** Where to read a document's sections from; only PDFs have pages. */
export interface SectionRange {
  /** First page to read (1-based, default 1). A run from page N gives exactly the sections a full run gives from N. */
  fromPage?: number;
  /** Last page to read (default the last page). */
  toPage?: number;
}

/** A parsed document: its sections on demand, in reading order. */
export interface ParsedDocument {
  format: DocumentFormat;
  /** Number of pages (PDF only). */
  pageCount?: number;
  /** The whole extracted text, which section and chunk offsets refer to (every format but PDF, read page by page). */
  text?: string;
  /**
   * The sections in reading order, read lazily (PDF pages are extracted one at a time as the iteration asks for
   * them). Range options only matter for PDFs.
   */
  sections(range?: SectionRange): AsyncIterable<Section>;
  /** Releases what the parser holds (the PDF engine's document). Safe to call more than once. */
  close(): Promise<void>;
}

/** Bounds on the work one document may cause, so a hostile file cannot exhaust memory or time. */
export interface IngestLimits {
  /** Characters of extracted text per document; a PDF counts the pages one `sections()` run reads. */
  maxChars: number;
  /** Pages of a PDF. */
  maxPages: number;
  /** Nesting of JSON values and HTML elements. */
  maxDepth: number;
  /** Uncompressed size of a DOCX's XML parts, checked before they are inflated (zip bombs). */
  maxDocxXmlBytes: number;
}

/**
 * Default limits. 5 M characters is about 1.2 M tokens, some 5,000 chunks at the default size: a long book, far
 * beyond what a chat over files needs, and still well inside an edge function's 256 MB. Over-limit documents
 * fail with a clear error rather than being silently truncated, because answers drawn from half a document
 * look complete but are not.
 */
export const DEFAULT_LIMITS: Readonly<IngestLimits> = {
  maxChars: 5_000_000,
  maxPages: 2_000,
  maxDepth: 256,
  maxDocxXmlBytes: 64 * 1024 * 1024,
};
