import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ProjectConfig } from '../config.ts';
import type { MailSink } from '../mail/types.ts';

/** The mail templates GoTrue has for auth flows, by their `[auth.email.template.<type>]` names. */
export type TemplateType = 'confirmation' | 'invite' | 'recovery' | 'magic_link' | 'email_change' | 'reauthentication';

const TEMPLATE_TYPES: readonly TemplateType[] = ['confirmation', 'invite', 'recovery', 'magic_link', 'email_change', 'reauthentication'];

/** A template's subject and HTML body, with GoTrue's `{{ .Variable }}` placeholders. */
export interface MailTemplate {
  subject: string;
  body: string;
}

const DEFAULT_SUBJECTS: Record<TemplateType, string> = {
  confirmation: 'Confirm your email address',
  invite: "You've been invited",
  recovery: 'Reset your password',
  magic_link: 'Your sign-in link',
  email_change: 'Confirm your new email address',
  reauthentication: '{{ .Token }} is your verification code',
};

function linkBody(heading: string, action: string, label: string): string {
  return `<h2>${heading}</h2>
<p>${action}</p>
<p><a href="{{ .ConfirmationURL }}">${label}</a></p>
<p>Or enter this code: <strong>{{ .Token }}</strong></p>`;
}

const DEFAULT_BODIES: Record<TemplateType, string> = {
  confirmation: linkBody('Confirm your sign-up', 'Open this link to confirm {{ .Email }}:', 'Confirm your email address'),
  invite: linkBody(
    "You've been invited",
    'You have been invited to create an account at {{ .SiteURL }}. Open this link to accept:',
    'Accept the invitation',
  ),
  recovery: linkBody('Reset your password', 'Open this link to choose a new password for {{ .Email }}:', 'Reset your password'),
  magic_link: linkBody('Your sign-in link', 'Open this link to sign in as {{ .Email }}:', 'Sign in'),
  email_change: linkBody(
    'Confirm the change of your email address',
    'Open this link to confirm the change from {{ .Email }} to {{ .NewEmail }}:',
    'Confirm the change',
  ),
  reauthentication: `<h2>Confirm it is you</h2>
<p>Enter this code to continue: <strong>{{ .Token }}</strong></p>`,
};

/** Everything the Auth mailer needs, resolved once at start. */
export interface MailerSettings {
  from: { name: string; address: string };
  templates: Record<TemplateType, MailTemplate>;
}

/**
 * Reads `[auth.email.template.*]` (subject and `content_path`, relative to the project directory as the CLI reads
 * it) and `[local_smtp]`'s sender. A configured file that cannot be read fails the start, naming the key.
 */
export async function loadMailerSettings(config: ProjectConfig, projectDir: string): Promise<MailerSettings> {
  const templates = {} as Record<TemplateType, MailTemplate>;
  for (const type of TEMPLATE_TYPES) {
    const configured = config.auth.email.template[type];
    let body = DEFAULT_BODIES[type];
    if (configured?.content_path) {
      const path = resolve(projectDir, configured.content_path);
      try {
        body = await readFile(path, 'utf8');
      } catch (error) {
        throw new Error(`config.toml: auth.email.template.${type}.content_path: cannot read ${path}: ${(error as Error).message}`);
      }
    }
    templates[type] = { subject: configured?.subject ?? DEFAULT_SUBJECTS[type], body };
  }
  for (const name of Object.keys(config.auth.email.template)) {
    if (!(TEMPLATE_TYPES as readonly string[]).includes(name)) {
      throw new Error(`config.toml: auth.email.template.${name}: unknown template (one of ${TEMPLATE_TYPES.join(', ')})`);
    }
  }
  // As the CLI: the sender of `[auth.email.smtp]` when a real server is configured, else the mailbox's.
  const smtp = config.auth.email.smtp?.enabled ? (config.auth.email.smtp as Record<string, unknown>) : {};
  const from = {
    name: typeof smtp.sender_name === 'string' ? smtp.sender_name : config.local_smtp.sender_name,
    address: typeof smtp.admin_email === 'string' ? smtp.admin_email : config.local_smtp.admin_email,
  };
  return { from, templates };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[ch]!);
}

/**
 * Fills GoTrue's placeholders — `{{ .SiteURL }}`, `{{ .ConfirmationURL }}`, `{{ .Token }}`, `{{ .TokenHash }}`,
 * `{{ .Email }}`, `{{ .NewEmail }}`, `{{ .RedirectTo }}`, `{{ .Data.<key> }}` — HTML-escaping values in bodies as Go's
 * html/template does. Other template actions (`if`, `range`) are not interpreted and stay as written.
 */
export function renderTemplate(template: string, data: Record<string, unknown>, html: boolean): string {
  return template.replace(/\{\{-?\s*\.([A-Za-z][A-Za-z0-9]*)(?:\.([A-Za-z0-9_]+))?\s*-?\}\}/g, (_match, name: string, key?: string) => {
    let value = data[name];
    if (key !== undefined) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
    return html ? escapeHtml(text) : text;
  });
}

/** A readable plain-text version of an HTML mail body (links kept as "label (url)"). */
export function htmlToText(html: string): string {
  return html
    .replace(/<a\s[^>]*href="([^"]*)"[^>]*>([\s\S]*?)<\/a>/gi, (_m, href: string, label: string) => `${label} (${href})`)
    .replace(/<(br|\/p|\/h\d|\/div|\/li)\s*\/?>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Renders one template for `to` and hands it to the sink. */
export async function sendTemplate(
  sink: MailSink,
  settings: MailerSettings,
  type: TemplateType,
  to: string,
  data: Record<string, unknown>,
): Promise<void> {
  const template = settings.templates[type];
  const html = renderTemplate(template.body, data, true);
  await sink.deliver({
    from: settings.from,
    to: [to],
    subject: renderTemplate(template.subject, data, false),
    html,
    text: htmlToText(html),
    headers: { 'X-Supabase-Auth-Mail': type },
  });
}
