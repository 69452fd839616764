import { ERRORS } from './errors.ts';

// The characters supabase/storage accepts in keys and bucket names (`src/storage/limits.ts`): S3-safe ASCII only.
const VALID_OBJECT_KEY = /^[A-Za-z0-9_/!.*'() &$=@;:+,?-]*$/;
const VALID_BUCKET_NAME = /^[A-Za-z0-9_!.*'() &$=@;:+,?-]*$/;

/**
 * Refuses keys that are not S3-safe or that could name something outside a bucket if they ever became file
 * paths: absolute paths, `.`/`..` segments (also when they arrived percent-encoded — callers pass the decoded
 * key), backslashes, NUL and other control characters. Bytes are stored by version id, never by key, so this is
 * defence in depth as well as parity with the hosted API's `InvalidKey`.
 */
export function mustBeValidKey(key: string | undefined): asserts key is string {
  if (!key || !VALID_OBJECT_KEY.test(key) || key.startsWith('/')) throw ERRORS.invalidKey(key ?? '');
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) throw ERRORS.invalidKey(key);
}

/** Bucket ids: 1–100 S3-safe characters, no slashes, no surrounding whitespace, not `.`/`..`. */
export function mustBeValidBucketName(name: string | undefined): asserts name is string {
  if (
    !name ||
    name.length > 100 ||
    !VALID_BUCKET_NAME.test(name) ||
    name.trim() !== name ||
    name === '.' ||
    name === '..'
  ) {
    throw ERRORS.invalidBucketName();
  }
}

/** `"20MB"` → 20000000 as the Storage API parses bucket limits (decimal units, 3 significant digits). */
export function parseFileSizeToBytes(value: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(gb|mb|kb|b)$/i.exec(value);
  if (!match) throw ERRORS.invalidFileSizeLimit();
  const n = Number(Number.parseFloat(match[1]).toPrecision(3));
  const unit = match[2].toUpperCase();
  return n * ({ GB: 1e9, MB: 1e6, KB: 1e3, B: 1 } as Record<string, number>)[unit];
}

/** Checks a bucket's `allowed_mime_types` entries when a bucket is created or updated. */
export function mustBeValidMimeTypeList(types: string[]): void {
  for (const type of types) {
    if (type.length > 1000 || !/^([a-zA-Z0-9\-+.]+)\/([a-zA-Z0-9\-+.]+)(;\s*charset=[a-zA-Z0-9-]+)?$|\*$/.test(type)) {
      throw ERRORS.invalidMimeType(type);
    }
  }
}

/** Refuses `mimeType` unless one of `allowed` matches it exactly or by `type/*` wildcard (upstream's rule). */
export function mustBeAllowedMimeType(mimeType: string, allowed: string[] | null | undefined): void {
  if (!allowed || allowed.length === 0) return;
  const [type, subtype] = mimeType.split('/');
  if (subtype === undefined) throw ERRORS.invalidMimeType(mimeType);
  for (const entry of allowed) {
    const [allowedType, allowedSubtype] = entry.split('/');
    if (allowedType === type && (allowedSubtype === '*' || allowedSubtype === subtype)) return;
  }
  throw ERRORS.invalidMimeType(mimeType);
}

/** `.emptyFolderPlaceholder` objects (created by Studio for empty folders) are limited to 0 bytes and any type. */
export function isEmptyFolderPlaceholder(key: string): boolean {
  return key.endsWith('.emptyFolderPlaceholder');
}

/** The effective upload limit: the bucket's, capped by the global `[storage] file_size_limit`. */
export function maxFileSize(globalLimit: number, bucketLimit: number | string | null | undefined): number {
  const bucket = bucketLimit === null || bucketLimit === undefined ? undefined : Number(bucketLimit);
  return bucket === undefined ? globalLimit : Math.min(bucket, globalLimit);
}
