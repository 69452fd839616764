import type { SupabaseClient } from '@supabase/supabase-js';
import { type AppConfig, functionsUrl } from './config.ts';
import { ApiFailure, failureFromBody } from './errors.ts';

/** A document as the `documents` function lists it. */
export interface Document {
  id: string;
  name: string;
  path: string;
  status: 'queued' | 'processing' | 'ready' | 'failed';
  error: string | null;
  progress: { stage: "extracting" | "embedding"; done: number; total: number | null; unit: "pages" | "chunks" } | null;
  page_count: number | null;
  size_bytes: number | null;
  chunk_count: number;
  created_at: string;
}

export interface Chat {
  id: string;
  title: string;
  created_at: string;
  updated_at: string;
}

export interface Citation {
  marker: number;
  document_id: string;
  chunk_index: number;
  name: string;
  page?: number;
  headings?: string[];
  score: number;
}

export interface StoredMessage {
  id: number;
  role: 'user' | 'assistant' | 'system';
  content: string;
  sources: Citation[];
  status: 'complete' | 'stopped' | 'failed';
  created_at: string;
}

export interface Usage {
  date: string;
  used: number;
  limit: number;
  plan: string;
  resets_at: string;
}

export interface Billing {
  plan: { id: string; name: string };
  status: string | null;
  currentPeriodEnd: string | null;
  cancelAtPeriodEnd: boolean;
  canManage: boolean;
}

export interface Plan {
  id: string;
  name: string;
  daily_request_limit: number;
  max_documents: number;
  max_upload_bytes: number;
}

/** Files up to this size go through the `upload` function; larger ones straight to Storage with a signed URL. */
export const SIGNED_UPLOAD_THRESHOLD = 6 * 1024 * 1024;

/**
 * The app's calls to the edge functions, each with the signed-in user's access token (never a key that bypasses
 * row-level security). Failures become {@link ApiFailure}s.
 */
export class Api {
  constructor(
    readonly config: AppConfig,
    readonly supabase: SupabaseClient,
  ) {}

  get functionsUrl(): string {
    return functionsUrl(this.config);
  }

  /** The current access token; supabase-js refreshes it when it is about to expire. */
  async accessToken(): Promise<string> {
    const { data } = await this.supabase.auth.getSession();
    if (!data.session) throw new ApiFailure(401, 'unauthenticated', '');
    return data.session.access_token;
  }

  async call<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    const token = await this.accessToken();
    const response = await fetch(`${this.functionsUrl}/${path}`, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    const text = await response.text();
    if (!response.ok) throw failureFromBody(response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  documents(): Promise<{ items: Document[] }> {
    return this.call('documents?limit=100');
  }

  document(id: string): Promise<Document & { download_url: string }> {
    return this.call(`documents/${id}`);
  }

  deleteDocument(id: string): Promise<void> {
    return this.call(`documents/${id}`, { method: 'DELETE' });
  }

  reprocess(id: string): Promise<unknown> {
    return this.call(`documents/${id}/reprocess`, { method: 'POST' });
  }

  chats(): Promise<{ items: Chat[] }> {
    return this.call('chat/chats');
  }

  messages(chatId: string): Promise<{ items: StoredMessage[] }> {
    return this.call(`chat/chats/${chatId}/messages?limit=100`);
  }

  deleteChat(chatId: string): Promise<void> {
    return this.call(`chat/chats/${chatId}`, { method: 'DELETE' });
  }

  usage(): Promise<Usage> {
    return this.call('chat/usage');
  }

  billing(): Promise<Billing> {
    return this.call('billing');
  }

  async plans(): Promise<Plan[]> {
    const { data, error } = await this.supabase
      .from('plans')
      .select('id, name, daily_request_limit, max_documents, max_upload_bytes')
      .order('daily_request_limit', { ascending: true });
    if (error) throw new ApiFailure(500, error.code ?? '', error.message);
    return data as Plan[];
  }

  checkout(plan: string): Promise<{ url: string }> {
    return this.call('billing/checkout', { method: 'POST', body: { plan } });
  }

  portal(): Promise<{ url: string }> {
    return this.call('billing/portal', { method: 'POST' });
  }

  /**
   * Uploads a file, reporting the fraction sent. Small files are streamed through the `upload` function (which
   * checks type, content and plan limits before storing); large ones go straight to Storage through a signed
   * upload URL the function hands out after the same checks, so they never pass through a function.
   */
  async upload(file: File, onProgress: (fraction: number) => void): Promise<void> {
    const token = await this.accessToken();
    if (file.size <= SIGNED_UPLOAD_THRESHOLD) {
      const form = new FormData();
      form.append('file', file, file.name);
      await send('POST', `${this.functionsUrl}/upload`, form, { Authorization: `Bearer ${token}` }, onProgress);
      return;
    }
    const signed = await this.call<{ signed_url: string; content_type: string }>('upload/sign', {
      method: 'POST',
      body: { name: file.name },
    });
    await send('PUT', signed.signed_url, file, { 'Content-Type': signed.content_type, 'x-upsert': 'false' }, onProgress);
  }
}

/** fetch has no upload progress; XMLHttpRequest does. */
function send(
  method: string,
  url: string,
  body: XMLHttpRequestBodyInit,
  headers: Record<string, string>,
  onProgress: (fraction: number) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    for (const [name, value] of Object.entries(headers)) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve(request.responseText);
      } else {
        reject(failureFromBody(request.status, request.responseText));
      }
    };
    request.onerror = () => reject(new ApiFailure(0, 'network_error', 'The server could not be reached. Check that it is running.'));
    request.send(body);
  });
}
