/** Longest file name {@link sanitizeFileName} returns, in bytes (ASCII, so also characters). */
export const MAX_FILE_NAME_BYTES = 200;

/** Longest extension (with its dot) kept when a name is shortened. */
const MAX_EXTENSION_BYTES = 16;

// Characters Supabase Storage accepts in object keys (`isValidKey` in supabase/storage: S3-safe ASCII), minus
// `?` (storage-js appends keys to URLs unescaped, so it would start a query string) and `:` (not portable).
const UNSAFE = /[^A-Za-z0-9 _\-.!*'()&$@=;+,]+/g;
const CONTROL_OR_FORMAT = /[\p{Cc}\p{Cf}]/gu;
const COMBINING_MARK = /\p{M}/gu;

/**
 * Turns a client-supplied file name into one that is safe as the last segment of a Storage key
 * (`{user_id}/{name}`), or `undefined` when nothing usable is left (the caller answers 400):
 * - only the last path segment is kept (`/` and `\`, so `C:\Users\a\notes.txt` and `../../x` lose their folders);
 * - Unicode is NFC-normalised, control and format characters (bidi overrides, zero-width) are removed;
 * - letters are folded to ASCII (`café` → `cafe`), because hosted Storage refuses non-ASCII keys; other unsafe
 *   characters become `_`; runs of dots collapse (no `..`), leading/trailing dots and spaces go;
 * - a name whose stem has no letter or digit left (e.g. all CJK) becomes `file-<hash of the NFC name>`, so
 *   distinct names stay distinct and the same name always maps to the same key;
 * - names over {@link MAX_FILE_NAME_BYTES} are shortened in the stem, keeping the extension.
 */
export function sanitizeFileName(raw: string): string | undefined {
  const base = raw.split(/[/\\]/).pop() ?? '';
  const normalised = base.normalize('NFC').replace(CONTROL_OR_FORMAT, '');
  const folded = normalised
    .normalize('NFKD')
    .replace(COMBINING_MARK, '')
    .replace(UNSAFE, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/ {2,}/g, ' ')
    .replace(/^[\s.]+|[\s.]+$/g, '');
  if (folded === '') return undefined;

  const dot = folded.lastIndexOf('.');
  let stem = dot > 0 ? folded.slice(0, dot) : folded;
  let extension = dot > 0 ? folded.slice(dot) : '';
  if (extension.length > MAX_EXTENSION_BYTES) {
    stem = folded;
    extension = '';
  }
  if (!/[A-Za-z0-9]/.test(stem)) stem = `file-${fnv1a(normalised)}`;
  const room = MAX_FILE_NAME_BYTES - extension.length;
  if (stem.length > room) stem = stem.slice(0, room).replace(/[\s.]+$/, '');
  return `${stem}${extension}`;
}

/** The lower-cased extension of a file name without its dot (`Report.PDF` → `pdf`), or `''`. */
export function fileExtension(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
}

/** 32-bit FNV-1a of the UTF-8 bytes, as 8 hex digits: a short, stable, non-cryptographic name suffix. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
