import { type DragEvent, useCallback, useEffect, useRef, useState } from 'react';
import type { Api, Document } from './api.ts';
import { describeError, describeProcessingError } from './errors.ts';

interface Upload {
  key: number;
  name: string;
  fraction: number;
  error: string | null;
}

/** How often the list is re-read: often while something is processing (the lite stack has no Realtime). */
const BUSY_POLL_MS = 1000;
const IDLE_POLL_MS = 15_000;

/** Upload with progress, and the user's documents with live status, progress, errors, delete and reprocess. */
export function Documents({ api }: { api: Api }) {
  const [documents, setDocuments] = useState<Document[] | null>(null);
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const nextKey = useRef(0);

  const refresh = useCallback(async () => {
    try {
      setDocuments((await api.documents()).items);
    } catch (caught) {
      setError(describeError(caught));
    }
  }, [api]);

  const busy = documents?.some((d) => d.status === 'queued' || d.status === 'processing') ?? false;
  useEffect(() => {
    void refresh();
    const timer = setInterval(refresh, busy ? BUSY_POLL_MS : IDLE_POLL_MS);
    return () => clearInterval(timer);
  }, [refresh, busy]);

  async function upload(files: FileList | File[]) {
    for (const file of Array.from(files)) {
      const key = nextKey.current++;
      const update = (patch: Partial<Upload>) => setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));
      setUploads((all) => [...all, { key, name: file.name, fraction: 0, error: null }]);
      try {
        await api.upload(file, (fraction) => update({ fraction }));
        setUploads((all) => all.filter((u) => u.key !== key));
        await refresh();
      } catch (caught) {
        update({ error: describeError(caught) });
      }
    }
  }

  async function act(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
    } catch (caught) {
      setError(describeError(caught));
    }
    await refresh();
  }

  async function open(document: Document, page?: number) {
    await act(async () => window.open(sourceUrl((await api.document(document.id)).download_url, page), '_blank', 'noopener'));
  }

  function onDrop(event: DragEvent) {
    event.preventDefault();
    setDragging(false);
    void upload(event.dataTransfer.files);
  }

  return (
    <aside className="documents" aria-label="Documents">
      <h2>Documents</h2>
      <label
        className={`dropzone${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
      >
        <input
          type="file"
          multiple
          aria-label="Upload files"
          accept=".txt,.md,.markdown,.csv,.html,.htm,.json,.pdf,.docx"
          onChange={(e) => {
            if (e.target.files) void upload(e.target.files);
            e.target.value = '';
          }}
        />
        <span>Drop files here or choose files — PDF, Word, Markdown, text, CSV, HTML, JSON</span>
      </label>
      {uploads.map((u) => (
        <div key={u.key} className="upload" aria-label={`Uploading ${u.name}`}>
          <span>{u.name}</span>
          {u.error ? (
            <p role="alert" className="error">
              {u.error}{' '}
              <button type="button" className="link" onClick={() => setUploads((all) => all.filter((x) => x.key !== u.key))}>
                Dismiss
              </button>
            </p>
          ) : (
            <progress max={1} value={u.fraction} aria-label={`Upload of ${u.name}`} />
          )}
        </div>
      ))}
      {error && <p role="alert" className="error">{error}</p>}
      {documents?.length === 0 && uploads.length === 0 && <p className="muted">No documents yet. Upload one to ask about it.</p>}
      <ul className="document-list">
        {documents?.map((d) => (
          <li key={d.id} data-status={d.status} aria-label={d.name}>
            <button type="button" className="link name" onClick={() => open(d)} title="Open">
              {d.name}
            </button>
            <span className={`status status-${d.status}`} data-testid="document-status">
              {statusText(d)}
            </span>
            {(d.status === 'processing' || d.status === 'queued') && <progress max={1} value={progressOf(d)} aria-label={`Processing ${d.name}`} />}
            {d.status === 'failed' && <p className="error">{describeProcessingError(d.error)}</p>}
            <span className="actions">
              {(d.status === 'ready' || d.status === 'failed') && (
                <button type="button" className="link" onClick={() => act(() => api.reprocess(d.id))}>
                  Reprocess
                </button>
              )}
              <button
                type="button"
                className="link danger"
                onClick={() => window.confirm(`Delete ${d.name}?`) && act(() => api.deleteDocument(d.id))}
              >
                Delete
              </button>
            </span>
          </li>
        ))}
      </ul>
    </aside>
  );
}

function statusText(d: Document): string {
  if (d.status === 'ready') return `Ready · ${d.chunk_count} passages${d.page_count ? ` · ${d.page_count} pages` : ''}`;
  if (d.status === 'failed') return 'Failed';
  if (d.status === 'queued') return 'Queued';
  const p = d.progress;
  if (!p) return 'Processing';
  const stage = p.stage === 'extracting' ? 'Reading' : 'Indexing';
  return p.total ? `${stage} ${p.done} of ${p.total} ${p.unit}` : `${stage} · ${p.done} ${p.unit}`;
}

/** Reading counts as the first half, indexing as the second. */
function progressOf(d: Document): number {
  const p = d.progress;
  if (!p || !p.total) return 0;
  const within = Math.min(1, p.done / p.total);
  return p.stage === 'extracting' ? within / 2 : 0.5 + within / 2;
}

/** A PDF opens at the cited page (`#page=`), which browsers' PDF viewers honour. */
export function sourceUrl(signedUrl: string, page?: number): string {
  return page ? `${signedUrl}#page=${page}` : signedUrl;
}
