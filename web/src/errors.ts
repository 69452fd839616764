/**
 * Failures as the user reads them: every error the app shows is a sentence. The functions answer
 * `{"error": {"code", "message", ...facts}}`; known codes get a sentence written for this app, and anything else
 * falls back to the server's own message, then to one per HTTP status.
 */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly facts: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

/** Reads a function's error response (or any other body) into an {@link ApiFailure}. */
export function failureFromBody(status: number, text: string): ApiFailure {
  try {
    const body = JSON.parse(text) as { error?: unknown; error_description?: unknown; msg?: unknown; message?: unknown };
    if (body.error && typeof body.error === 'object') {
      const { code, message, ...facts } = body.error as Record<string, unknown>;
      return new ApiFailure(status, String(code ?? ''), String(message ?? ''), facts);
    }
    // OAuth (token function), Auth and Storage shapes.
    const message = body.error_description ?? body.msg ?? body.message ?? '';
    return new ApiFailure(status, typeof body.error === 'string' ? body.error : '', String(message));
  } catch {
    return new ApiFailure(status, '', '');
  }
}

const BY_CODE: Record<string, (failure: ApiFailure) => string> = {
  unauthenticated: () => 'Your session has ended. Please sign in again.',
  invalid_token: () => 'Your session has ended. Please sign in again.',
  file_exists: () => 'You already have a file with this name. Rename the file, or delete the old one first.',
  file_too_large: (f) => f.message || "This file is larger than your plan allows.",
  payload_too_large: () => 'That message is too long to send.',
  unsupported_file_type: () => 'This kind of file cannot be read. Upload text, Markdown, CSV, HTML, JSON, PDF or Word (.docx) files.',
  file_content_mismatch: () => "This file's content does not match its name (for example a renamed image). Check the file and try again.",
  empty_file: () => 'This file is empty.',
  document_limit_reached: (f) => f.message || 'Your plan allows no more documents. Delete one or upgrade your plan.',
  document_not_reprocessable: () => 'This document is still being processed. Try again once it is ready or has failed.',
  document_not_found: () => 'This document no longer exists.',
  chat_not_found: () => 'This chat no longer exists.',
  daily_limit_reached: (f) => {
    const count = typeof f.facts.limit === 'number' ? `all ${f.facts.limit}` : 'all the';
    const resets = typeof f.facts.resets_at === 'string' ? ` It resets at ${formatTime(f.facts.resets_at)}.` : '';
    return `You have used ${count} questions your plan allows today.${resets} Upgrade for more.`;
  },
  billing_not_configured: () => 'Billing is not set up on this server yet.',
  no_billing_account: () => 'You have no billing account yet. Upgrade first.',
  already_subscribed: () => 'You are already on this plan. Manage it from the billing page.',
  invalid_grant: () => 'The e-mail address or password is not right.',
  invalid_credentials: () => 'The e-mail address or password is not right.',
  user_already_exists: () => 'An account with this e-mail address already exists. Sign in instead.',
  weak_password: (f) => f.message || 'Choose a longer password.',
  over_email_send_rate_limit: () => 'Too many e-mails were sent to this address. Wait a minute and try again.',
  over_request_rate_limit: () => 'Too many attempts. Wait a minute and try again.',
};

const BY_STATUS: Record<number, string> = {
  400: 'The request was not valid.',
  401: 'Your session has ended. Please sign in again.',
  403: 'You are not allowed to do that.',
  404: 'That was not found.',
  409: 'That conflicts with something that already exists.',
  413: 'That is too large.',
  415: 'That kind of file is not supported.',
  429: 'Too many requests. Wait a moment and try again.',
  503: 'The service is not available right now. Try again shortly.',
};

/** One sentence for any failure: ours, supabase-js's, the network's. */
export function describeError(error: unknown): string {
  if (error instanceof ApiFailure) {
    const sentence = BY_CODE[error.code]?.(error);
    if (sentence) return sentence;
    if (error.message) return sentenceOf(error.message);
    return BY_STATUS[error.status] ?? (error.status >= 500 ? 'Something went wrong on the server. Try again.' : 'The request failed.');
  }
  if (error && typeof error === 'object' && 'message' in error) {
    const { code, status, message } = error as { code?: unknown; status?: unknown; message: unknown };
    if (typeof code === 'string' && BY_CODE[code]) return BY_CODE[code](new ApiFailure(Number(status ?? 0), code, String(message)));
    const text = String(message);
    if (/failed to fetch|networkerror|load failed/i.test(text)) return 'The server could not be reached. Check that it is running.';
    // The AI SDK puts an error response's body in the message.
    if (text.startsWith('{')) return describeError(failureFromBody(Number(status ?? 0), text));
    return sentenceOf(text);
  }
  return 'Something went wrong. Try again.';
}

/** A processing failure stored on a document: the worker already writes its message as a sentence for the owner. */
export function describeProcessingError(message: string | null): string {
  return message ? sentenceOf(message) : 'Processing failed.';
}

function sentenceOf(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) return 'Something went wrong. Try again.';
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
