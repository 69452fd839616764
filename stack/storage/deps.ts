import type { BlobStore } from './blobs.ts';
import type { JwtKeys } from '../jwt.ts';
import type { Facts, StorageDb } from './scope.ts';
import type { UrlTokens } from './tokens.ts';

/** What every handler is built from (injected once by `createStorageService`). */
export interface StorageDeps {
  db: StorageDb;
  blobs: BlobStore;
  tokens: UrlTokens;
  jwt: JwtKeys;
  /** Global upload limit in bytes (`[storage] file_size_limit`). */
  fileSizeLimit: number;
  log: (line: string) => void;
}

/** One matched request: the Web request, its URL and the decoded route parameters. */
export interface RouteContext {
  request: Request;
  url: URL;
  /** Decoded `:bucket` / `:id` segment. */
  bucket: string;
  /** Decoded `*` remainder (the object key). */
  key: string;
  facts: Facts;
}

/** A JSON response with the Storage API's content type. */
export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
