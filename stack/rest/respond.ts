import type { PlainResponse } from '../gateway.ts';
import type { Media } from './negotiate.ts';

/** Response headers every successful Data API response may carry. */
export interface SuccessHeaders {
  contentRange?: string;
  profile?: string;
  applied?: string[];
  location?: string;
}

function contentType(media: Media): string {
  if (media.kind === 'object') return 'application/vnd.pgrst.object+json; charset=utf-8';
  if (media.kind === 'csv') return 'text/csv; charset=utf-8';
  return 'application/json; charset=utf-8';
}

/** A success response; `body === undefined` means no body (204, minimal, HEAD). */
export function success(status: number, body: string | undefined, media: Media, extra: SuccessHeaders): PlainResponse {
  const headers: Record<string, string> = {};
  if (extra.contentRange) headers['content-range'] = extra.contentRange;
  if (extra.location) headers.location = extra.location;
  if (extra.applied?.length) headers['preference-applied'] = extra.applied.join(', ');
  if (body !== undefined) {
    headers['content-type'] = contentType(media);
    if (extra.profile) headers['content-profile'] = extra.profile;
  }
  return { status, headers, body: status === 204 || body === undefined ? null : body };
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** A JSON array of objects as CSV with a header row (what `.csv()` asks for). */
export function toCsv(json: string): string {
  const rows = JSON.parse(json) as Array<Record<string, unknown>>;
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]);
  return [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].join('\n');
}
