import { DOCUMENTS_BUCKET } from '../_shared/buckets.ts';
import { fromDatabaseError, unwrap } from '../_shared/database-errors.ts';
import { ApiError } from '../_shared/errors.ts';
import { type DocumentType, resolveDocumentType } from '../_shared/file-type.ts';
import { formatBytes } from '../_shared/format.ts';
import type { PlanLimits } from '../_shared/plans.ts';
import type { Client } from '../_shared/routes.ts';
import { storageErrorStatus } from '../_shared/storage-errors.ts';

const UNSUPPORTED = 'Only .txt, .md, .csv, .html, .json, .pdf and .docx files can be uploaded.';

/** The accepted type of a file by its name (or declared type), or 415 `unsupported_file_type`. */
export function mustBeAccepted(name: string, declaredMimeType: string | undefined): DocumentType {
  const type = resolveDocumentType(name, declaredMimeType);
  if (!type) throw new ApiError(415, 'unsupported_file_type', UNSUPPORTED);
  return type;
}

/** 415 `file_content_mismatch`: the bytes are not what the name or type says. */
export function contentMismatch(type: DocumentType): ApiError {
  const what = type.kind === 'pdf' ? 'a PDF document' : type.kind === 'docx' ? 'a DOCX document' : 'UTF-8 text';
  return new ApiError(415, 'file_content_mismatch', `The file's content is not ${what}, as its name or type says.`);
}

/** 404 `chat_not_found` unless `chatId` is one of the caller's chats (RLS hides the others). */
export async function mustOwnChat(client: Client, chatId: string): Promise<void> {
  const chat = unwrap(await client.from('chats').select('id').eq('id', chatId).maybeSingle());
  if (!chat) throw new ApiError(404, 'chat_not_found', `Chat ${chatId} was not found.`);
}

/** 409 `file_exists` if the caller already has a document at `path`. */
export async function mustNotExist(client: Client, path: string, name: string): Promise<void> {
  const existing = unwrap(await client.from('documents').select('id').eq('bucket_id', DOCUMENTS_BUCKET).eq('storage_path', path).maybeSingle());
  if (existing) throw fileExists(name);
}

/**
 * 403 `document_limit_reached` when the caller already has as many documents as the plan allows. The database
 * enforces the same limit atomically on every way into the bucket; checking first saves sending the file.
 */
export async function mustHaveRoom(client: Client, plan: PlanLimits): Promise<void> {
  const { count, error } = await client.from('documents').select('id', { count: 'exact', head: true });
  if (error) throw fromDatabaseError(error);
  if ((count ?? 0) >= plan.maxDocuments) throw documentLimitReached(plan);
}

/** 403 `document_limit_reached`, naming the plan and its limit. */
export function documentLimitReached(plan: PlanLimits): ApiError {
  return new ApiError(
    403,
    'document_limit_reached',
    `Your ${plan.name} plan allows ${plan.maxDocuments} documents. Delete one or upgrade your plan to add more.`,
  );
}

/** 409 `file_exists`. */
export function fileExists(name: string): ApiError {
  return new ApiError(409, 'file_exists', `File ${name} already exists in storage.`);
}

/** The tighter of the plan's and the bucket's size limits, with the sentence a 413 gives for it. */
export function uploadLimit(plan: PlanLimits, bucketMaxBytes: number): { bytes: number; message: string } {
  return plan.maxUploadBytes < bucketMaxBytes
    ? { bytes: plan.maxUploadBytes, message: `The file exceeds the ${formatBytes(plan.maxUploadBytes)} upload limit of the ${plan.name} plan.` }
    : { bytes: bucketMaxBytes, message: `The file exceeds the ${formatBytes(bucketMaxBytes)} limit of bucket ${DOCUMENTS_BUCKET}.` };
}

/** Storage's answers by the status in its error body (never by message text). */
export function fromStorageError(error: unknown, name: string, tooLargeMessage: string): ApiError {
  switch (storageErrorStatus(error)) {
    case 409:
      return fileExists(name);
    case 413:
      return new ApiError(413, 'file_too_large', tooLargeMessage || 'The file is too large.');
    case 415:
      return new ApiError(415, 'unsupported_file_type', UNSUPPORTED);
    case 403:
      return new ApiError(403, 'forbidden', 'Storage refused to store the file for this user.', { cause: error });
    default:
      return new ApiError(500, 'internal_error', 'Storage failed to store the file.', { cause: error });
  }
}
