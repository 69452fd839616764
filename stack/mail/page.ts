import type { StoredMail } from './mailbox.ts';

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1c1c1c;background:#fafafa}
header{background:#1c1c1c;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:center}
header h1{font-size:16px;margin:0;flex:1}header a{color:#9fe6c3}
main{padding:16px 20px}table{width:100%;border-collapse:collapse;background:#fff}
th,td{text-align:left;padding:8px;border-bottom:1px solid #e5e5e5;vertical-align:top}
tr.unread td{font-weight:600}td.snippet{color:#666;font-weight:400}
button{font:inherit;padding:4px 10px;cursor:pointer}iframe{width:100%;height:60vh;border:1px solid #ddd;background:#fff}
pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:12px}dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px}
dt{color:#666}dd{margin:0}`;

function layout(title: string, body: string, refresh = false): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">${refresh ? '<meta http-equiv="refresh" content="5">' : ''}
<style>${STYLE}</style></head>
<body><header><h1>edgebrain lite stack — mailbox</h1><a href="/">Inbox</a><a href="/api/v1/messages">API</a></header>
<main>${body}</main></body></html>`;
}

/** The inbox: every captured message, newest first (the page refreshes itself every 5 seconds). */
export function listPage(messages: StoredMail[]): string {
  const rows = messages
    .map(
      (m) => `<tr class="${m.read ? '' : 'unread'}"><td>${escape(new Date(m.created).toLocaleString('en-GB'))}</td>
<td>${escape(m.to.join(', '))}</td><td><a href="/view/${escape(m.id)}">${escape(m.subject || '(no subject)')}</a></td>
<td class="snippet">${escape(m.text.replace(/\s+/g, ' ').slice(0, 120))}</td></tr>`,
    )
    .join('\n');
  const table = messages.length
    ? `<table><thead><tr><th>Received</th><th>To</th><th>Subject</th><th></th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p>No mail yet. Mail the stack sends (sign-up confirmations, magic links, password resets…) appears here.</p>';
  const clear = messages.length
    ? `<p><button onclick="fetch('/api/v1/messages',{method:'DELETE'}).then(()=>location.reload())">Delete all</button></p>`
    : '';
  return layout(`Mailbox (${messages.length})`, `${clear}${table}`, true);
}

/** One message: its headers, the HTML body in a sandboxed frame, and the text body. */
export function messagePage(mail: StoredMail): string {
  return layout(
    mail.subject,
    `<dl><dt>From</dt><dd>${escape(`${mail.from.name} <${mail.from.address}>`)}</dd>
<dt>To</dt><dd>${escape(mail.to.join(', '))}</dd><dt>Subject</dt><dd>${escape(mail.subject)}</dd>
<dt>Received</dt><dd>${escape(mail.created)}</dd></dl>
<h3>HTML</h3><iframe sandbox="allow-popups allow-popups-to-escape-sandbox" src="/view/${escape(mail.id)}.html"></iframe>
<h3>Text</h3><pre>${escape(mail.text)}</pre>`,
  );
}
