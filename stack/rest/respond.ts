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
export function success(status: number, body: string | undefined, media: Media, extra: SuccessHeaders): Response {
  const headers = new Headers();
  if (extra.contentRange) headers.set('content-range', extra.contentRange);
  if (extra.location) headers.set('location', extra.location);
  if (extra.applied?.length) headers.set('preference-applied', extra.applied.join(', '));
  if (body !== undefined) {
    headers.set('content-type', contentType(media));
    if (extra.profile) headers.set('content-profile', extra.profile);
  }
  return new Response(status === 204 || body === undefined ? null : body, { status, headers });
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
