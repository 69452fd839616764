import { parse } from 'csv-parse/sync';
import { IngestError } from './errors.ts';
import type { Break, Section } from './types.ts';

const DELIMITERS = [',', ';', '\t', '|'];

/**
 * CSV: one section holding every data row, with a break (and its 1-based row number) at each row and the header
 * line as the context every chunk repeats. Rows are cut from the source text as written, so quoted fields with
 * line breaks stay intact and offsets hold. The first record is taken as the header; rows whose fields are all
 * blank are skipped. The delimiter is sniffed from the first line (`,` `;` tab `|`).
 */
export function csvSections(text: string): Section[] {
  const rows: number[] = []; // start and end offset of each kept record, flattened
  let offset = 0;
  const onRecord = (entry: { record: string[]; raw: string }): null => {
    let start = text.startsWith(entry.raw, offset) ? offset : text.indexOf(entry.raw, offset);
    if (start < 0) start = offset;
    let end = start + entry.raw.length;
    offset = end;
    if (entry.record.every((field) => field.trim() === '')) return null;
    // A record's raw text includes the empty lines skipped before it and its own line break.
    while (start < end && (text[start] === '\n' || text[start] === '\r')) start++;
    while (end > start && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--;
    rows.push(start, end);
    // Returning null keeps csv-parse from collecting every record: only offsets are kept.
    return null;
  };
  try {
    parse(text, {
      delimiter: sniffDelimiter(text),
      raw: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      // With `raw`, csv-parse hands on_record `{ record, raw }`; its types do not model that.
      on_record: onRecord as unknown as (record: string[]) => null,
    });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('CSV_')) {
      const line = (error as { lines?: unknown }).lines;
      const where = typeof line === 'number' ? ` near line ${line}` : '';
      throw new IngestError(
        'corrupt_file',
        `This CSV file could not be read because of a formatting problem${where}, such as a quote that is never closed. Fix it in a spreadsheet or text editor, then upload it again.`,
        { cause: error },
      );
    }
    throw error;
  }
  if (rows.length === 0) return [];
  const header = text.slice(rows[0], rows[1]);
  if (rows.length === 2) return [{ text: header, start: rows[0], headings: [] }];
  const start = rows[2];
  const breaks: Break[] = [];
  for (let i = 2; i < rows.length; i += 2) breaks.push({ at: rows[i] - start, strength: 1, row: i / 2 });
  return [{ text: text.slice(start, rows[rows.length - 1]), start, headings: [], context: header, breaks }];
}

/** The delimiter that occurs most often outside quotes on the first line; `,` when none does. */
function sniffDelimiter(text: string): string {
  const counts = new Map<string, number>();
  let quoted = false;
  for (let i = 0; i < text.length && i < 65_536; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === '\n') break;
    else if (!quoted && DELIMITERS.includes(ch)) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  let best = ',';
  for (const delimiter of DELIMITERS) if ((counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0)) best = delimiter;
  return best;
}
