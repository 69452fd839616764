import type { DatabaseError } from 'pg';

/** The storage error codes this stack emits (a subset of supabase/storage `ErrorCode`). */
export type StorageErrorCode =
  | 'NoSuchBucket'
  | 'NoSuchKey'
  | 'InvalidJWT'
  | 'InvalidRequest'
  | 'EntityTooLarge'
  | 'InternalError'
  | 'ResourceAlreadyExists'
  | 'ResourceNotEmpty'
  | 'InvalidBucketName'
  | 'InvalidKey'
  | 'InvalidRange'
  | 'InvalidMimeType'
  | 'KeyAlreadyExists'
  | 'BucketAlreadyExists'
  | 'DatabaseTimeout'
  | 'InvalidSignature'
  | 'ExpiredToken'
  | 'AccessDenied'
  | 'ResourceLocked'
  | 'ResourceReferenced'
  | 'DatabaseError'
  | 'InvalidParameter';

/**
 * A Storage API error. The body is `{statusCode, code, error, message}` where `statusCode` is the real status
 * as a string; the HTTP status is 400 for every non-500 error unless `httpStatus` says otherwise (contract §3.2).
 */
export class StorageError extends Error {
  readonly httpStatus: number;

  constructor(
    readonly statusCode: number,
    readonly code: StorageErrorCode,
    message: string,
    readonly error: string = code,
    httpStatus?: number,
  ) {
    super(message);
    this.name = 'StorageError';
    this.httpStatus = httpStatus ?? (statusCode === 500 ? 500 : 400);
  }

  body(): { statusCode: string; code: string; error: string; message: string } {
    return { statusCode: String(this.statusCode), code: this.code, error: this.error, message: this.message };
  }
}

/** Factories with upstream's exact wording (supabase/storage `src/internal/errors/codes.ts`). */
export const ERRORS = {
  noSuchBucket: () => new StorageError(404, 'NoSuchBucket', 'Bucket not found', 'Bucket not found'),
  noSuchKey: () => new StorageError(404, 'NoSuchKey', 'Object not found', 'not_found'),
  accessDenied: (message = 'Access denied', httpStatus?: number) =>
    new StorageError(403, 'AccessDenied', message, 'Unauthorized', httpStatus),
  alreadyExists: () => new StorageError(409, 'ResourceAlreadyExists', 'The resource already exists', 'Duplicate'),
  keyAlreadyExists: () => new StorageError(409, 'KeyAlreadyExists', 'The resource already exists', 'Duplicate'),
  bucketAlreadyExists: () => new StorageError(409, 'BucketAlreadyExists', 'The resource already exists', 'Duplicate'),
  bucketNotEmpty: () => new StorageError(409, 'ResourceNotEmpty', 'The bucket you tried to delete is not empty'),
  entityTooLarge: (entity = 'object') =>
    new StorageError(413, 'EntityTooLarge', `The ${entity} exceeded the maximum allowed size`, 'Payload too large'),
  invalidMimeType: (mime: string) =>
    new StorageError(415, 'InvalidMimeType', `mime type ${mime} is not supported`, 'invalid_mime_type'),
  invalidBucketName: () => new StorageError(400, 'InvalidBucketName', 'Bucket name invalid', 'Invalid Input'),
  invalidKey: (key: string) => new StorageError(400, 'InvalidKey', `Invalid key: ${key}`),
  invalidRange: () => new StorageError(416, 'InvalidRange', 'invalid range provided', 'invalid_range', 416),
  invalidRequest: (message: string) => new StorageError(400, 'InvalidRequest', message),
  invalidParameter: (name: string) => new StorageError(400, 'InvalidParameter', `Invalid Parameter ${name}`),
  noContent: () => new StorageError(400, 'InvalidRequest', 'No content provided'),
  invalidFileSizeLimit: () =>
    new StorageError(400, 'InvalidRequest', 'Invalid file size format, hint: use 20GB / 20MB / 30KB / 3B'),
  invalidJwt: (message: string) => new StorageError(400, 'InvalidJWT', message),
  invalidSignature: (message = 'Invalid signature') => new StorageError(400, 'InvalidSignature', message),
  expiredSignature: () => new StorageError(400, 'ExpiredToken', 'The provided token has expired.'),
  internal: () => new StorageError(500, 'InternalError', 'Internal Server Error', 'Internal'),
};

/** Maps a Postgres error the way supabase/storage's `DBError.fromDBError` does; anything else is a 500. */
export function fromPgError(error: unknown): StorageError | undefined {
  const e = error as Partial<DatabaseError>;
  if (typeof e?.code !== 'string' || !(error instanceof Error)) return undefined;
  switch (e.code) {
    case '42501':
      return ERRORS.accessDenied(
        error.message.includes('row-level security') ? 'new row violates row-level security policy' : error.message,
      );
    case '23505':
      return ERRORS.alreadyExists();
    case '23503':
      return e.detail?.includes('is still referenced from table')
        ? new StorageError(409, 'ResourceReferenced', 'The resource could not be updated or removed due to a foreign key constraint')
        : new StorageError(404, 'InvalidRequest', 'The related resource does not exist');
    case '55P03':
      return new StorageError(409, 'ResourceLocked', 'The resource is locked');
    case '57014':
      return new StorageError(544, 'DatabaseTimeout', 'The connection to the database timed out', 'DatabaseTimeout', 544);
    // Text Postgres cannot hold (U+0000 in text or jsonb): the input's fault, never a 500.
    case '22P05':
    case '22021':
      return new StorageError(400, 'InvalidRequest', 'The request contains characters that cannot be stored (such as \\u0000)');
    case '22P02':
      return new StorageError(400, 'InvalidParameter', error.message || 'Invalid value format or type conversion failed');
    default:
      return undefined;
  }
}

/** Any thrown value as a StorageError; unexpected ones become the generic 500 (and are logged by the caller). */
export function toStorageError(error: unknown): { error: StorageError; unexpected: boolean } {
  if (error instanceof StorageError) return { error, unexpected: false };
  const mapped = fromPgError(error);
  if (mapped) return { error: mapped, unexpected: false };
  return { error: ERRORS.internal(), unexpected: true };
}

/** The JSON response for a storage error. */
export function errorResponse(error: StorageError): Response {
  return new Response(JSON.stringify(error.body()), {
    status: error.httpStatus,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}
