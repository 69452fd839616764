import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport, type UIMessage } from 'ai';
import { type FormEvent, useCallback, useEffect, useMemo, useState } from 'react';
import type { Api, Chat, Citation, StoredMessage } from './api.ts';
import { sourceUrl } from './Documents.tsx';
import { describeError } from './errors.ts';

/** The chat history sidebar and the open conversation. */
export function ChatPanel({ api, onAnswered }: { api: Api; onAnswered: () => void }) {
  const [chats, setChats] = useState<Chat[]>([]);
  const [current, setCurrent] = useState<{ id: string; messages: UIMessage[] }>(() => ({ id: crypto.randomUUID(), messages: [] }));
  const [error, setError] = useState<string | null>(null);

  const refreshChats = useCallback(() => {
    api.chats().then((r) => setChats(r.items), (e) => setError(describeError(e)));
  }, [api]);
  useEffect(refreshChats, [refreshChats]);

  async function openChat(id: string) {
    setError(null);
    try {
      const { items } = await api.messages(id);
      setCurrent({ id, messages: items.map(toUIMessage) });
    } catch (caught) {
      setError(describeError(caught));
    }
  }

  async function deleteChat(id: string) {
    try {
      await api.deleteChat(id);
      if (id === current.id) setCurrent({ id: crypto.randomUUID(), messages: [] });
      refreshChats();
    } catch (caught) {
      setError(describeError(caught));
    }
  }

  return (
    <>
      <nav className="history" aria-label="Chats">
        <button type="button" onClick={() => setCurrent({ id: crypto.randomUUID(), messages: [] })}>
          New chat
        </button>
        {error && <p role="alert" className="error">{error}</p>}
        <ul>
          {chats.map((chat) => (
            <li key={chat.id} className={chat.id === current.id ? 'active' : ''}>
              <button type="button" className="link" onClick={() => openChat(chat.id)} title={chat.title}>
                {chat.title}
              </button>
              <button type="button" className="link danger" aria-label={`Delete chat ${chat.title}`} onClick={() => deleteChat(chat.id)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      </nav>
      <Conversation
        key={current.id}
        api={api}
        id={current.id}
        initialMessages={current.messages}
        onAnswered={() => {
          refreshChats();
          onAnswered();
        }}
      />
    </>
  );
}

/** One chat, streamed with the AI SDK's `useChat` from the `chat` function. */
function Conversation(props: { api: Api; id: string; initialMessages: UIMessage[]; onAnswered: () => void }) {
  const { api, id, initialMessages, onAnswered } = props;
  const [input, setInput] = useState('');
  const transport = useMemo(
    () =>
      new DefaultChatTransport({
        api: `${api.functionsUrl}/chat`,
        headers: async (): Promise<Record<string, string>> => ({ Authorization: `Bearer ${await api.accessToken()}` }),
      }),
    [api],
  );
  const { messages, sendMessage, status, stop, error, clearError } = useChat({
    id,
    messages: initialMessages,
    transport,
    onFinish: onAnswered,
    onError: onAnswered,
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const text = input.trim();
    if (!text || status === 'streaming' || status === 'submitted') return;
    clearError();
    setInput('');
    void sendMessage({ text });
  }

  async function openSource(citation: Citation) {
    const document = await api.document(citation.document_id);
    window.open(sourceUrl(document.download_url, citation.page), '_blank', 'noopener');
  }

  return (
    <main className="chat" aria-label="Chat">
      <div className="messages" aria-live="polite">
        {messages.length === 0 && <p className="muted empty">Ask a question about your documents.</p>}
        {messages.map((message) => (
          <MessageView key={message.id} message={message} onOpenSource={openSource} />
        ))}
        {status === 'submitted' && <p className="muted">Searching your documents…</p>}
        {error && (
          <p role="alert" className="error">
            {describeError(error)}
          </p>
        )}
      </div>
      <form className="composer" onSubmit={submit}>
        <textarea
          aria-label="Question"
          placeholder="Ask about your documents…"
          value={input}
          rows={2}
          maxLength={4000}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) submit(e);
          }}
        />
        {status === 'streaming' || status === 'submitted' ? (
          <button type="button" onClick={() => stop()}>
            Stop
          </button>
        ) : (
          <button type="submit">Ask</button>
        )}
      </form>
    </main>
  );
}

function MessageView({ message, onOpenSource }: { message: UIMessage; onOpenSource: (citation: Citation) => void }) {
  const text = message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
  const citations = message.parts.flatMap((part) =>
    part.type === 'source-document' ? [(part.providerMetadata?.edgebrain ?? {}) as unknown as Citation] : [],
  );
  const byMarker = new Map(citations.map((c) => [c.marker, c]));
  return (
    <article className={`message ${message.role}`} data-role={message.role}>
      <div className="text">
        {splitMarkers(text).map((piece, i) =>
          typeof piece === 'number' && byMarker.has(piece) ? (
            <button key={i} type="button" className="marker" onClick={() => onOpenSource(byMarker.get(piece)!)}>
              [{piece}]
            </button>
          ) : (
            <span key={i}>{typeof piece === 'number' ? `[${piece}]` : piece}</span>
          ),
        )}
      </div>
      {citations.length > 0 && (
        <ol className="citations" aria-label="Sources">
          {citations.map((c) => (
            <li key={`${c.document_id}:${c.chunk_index}`}>
              <button type="button" className="link citation" onClick={() => onOpenSource(c)}>
                [{c.marker}] {c.name}
                {c.page !== undefined ? `, page ${c.page}` : ''}
                {c.headings?.length ? ` — ${c.headings.join(' › ')}` : ''}
              </button>
            </li>
          ))}
        </ol>
      )}
    </article>
  );
}

/** Text with its citation markers (`[2]`) as numbers, so they can be links. */
function splitMarkers(text: string): Array<string | number> {
  return text.split(/\[(\d{1,3})\]/).map((piece, i) => (i % 2 === 1 ? Number(piece) : piece));
}

/** A stored message in the shape `useChat` renders: its text and one source part per citation. */
function toUIMessage(message: StoredMessage): UIMessage {
  return {
    id: String(message.id),
    role: message.role,
    parts: [
      { type: 'text', text: message.content },
      ...message.sources.map((c) => ({
        type: 'source-document' as const,
        sourceId: `${c.document_id}:${c.chunk_index}`,
        mediaType: 'text/plain',
        title: c.name,
        providerMetadata: { edgebrain: { ...c } },
      })),
    ],
  };
}
