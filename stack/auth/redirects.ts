import { isIP } from 'node:net';
import type { AuthSettings } from './settings.ts';

/** Characters a single `*` or `?` does not cross in an allow-list pattern (GoTrue compiles them with `.` and `/`). */
const SEPARATORS = './';

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * Compiles an `additional_redirect_urls` pattern with the glob rules GoTrue uses: `*` matches within one label or
 * path segment (not across `.` or `/`), `**` matches anything, `?` one character other than a separator,
 * `[abc]`/`[!a-z]` a class, `{a,b}` alternatives, `\` escapes. Everything else is literal.
 */
export function compileRedirectPattern(pattern: string): RegExp {
  const notSep = `[^${SEPARATORS.split('').map(escapeRegex).join('')}]`;
  let out = '';
  let depth = 0;
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i];
    if (ch === '\\' && i + 1 < pattern.length) {
      out += escapeRegex(pattern[++i]);
    } else if (ch === '*') {
      if (pattern[i + 1] === '*') {
        out += '.*';
        i += 1;
      } else {
        out += `${notSep}*`;
      }
    } else if (ch === '?') {
      out += notSep;
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        out += escapeRegex(ch);
        continue;
      }
      let body = pattern.slice(i + 1, end);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      out += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, (c) => `\\${c}`)}]`;
      i = end;
    } else if (ch === '{') {
      depth += 1;
      out += '(?:';
    } else if (ch === '}' && depth > 0) {
      depth -= 1;
      out += ')';
    } else if (ch === ',' && depth > 0) {
      out += '|';
    } else {
      out += escapeRegex(ch);
    }
  }
  return new RegExp(`^${out}${')'.repeat(depth)}$`, 's');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * GoTrue's `IsRedirectURLValid`: the URL goes back to `site_url` (same scheme and host; any port on loopback), or
 * is a loopback IP, or matches an allow-list pattern (compared without its fragment). Decimal IPs and odd hostnames
 * never pass.
 */
export function isRedirectUrlValid(settings: Pick<AuthSettings, 'siteUrl' | 'redirectAllowList'>, redirectUrl: string): boolean {
  if (!redirectUrl) return false;
  let base: URL;
  let target: URL;
  try {
    base = new URL(settings.siteUrl);
    target = new URL(redirectUrl);
  } catch {
    return false;
  }
  const host = hostOf(target);
  if (
    hostOf(base) === host &&
    base.protocol === target.protocol &&
    (base.port === target.port || isLoopback(host))
  ) {
    return true;
  }
  const isHttp = target.protocol === 'http:' || target.protocol === 'https:';
  // WHATWG URL rewrites a decimal IP ("2130706433") into dotted form; Go keeps it, and GoTrue refuses it.
  const rawHost = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(\[[^\]]*\]|[^/?#:]*)/i.exec(redirectUrl)?.[1] ?? host;
  if (/^[0-9]+$/.test(rawHost)) return false;
  if (isIP(host)) return isLoopback(host);
  if (isHttp && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(host)) return false;
  const withoutFragment = redirectUrl.split('#')[0];
  return settings.redirectAllowList.some((pattern) => compileRedirectPattern(pattern).test(withoutFragment));
}

/**
 * GoTrue's `GetReferrer`: where mail links and `/verify` send the user back to — the request's `redirect_to` when it
 * is allowed, else its `Referer` when allowed, else `site_url`.
 */
export function referrer(settings: Pick<AuthSettings, 'siteUrl' | 'redirectAllowList'>, request: Request, explicit?: string): string {
  const requested = explicit ?? new URL(request.url).searchParams.get('redirect_to') ?? '';
  if (isRedirectUrlValid(settings, requested)) return requested;
  const referer = request.headers.get('referer') ?? '';
  if (isRedirectUrlValid(settings, referer)) return referer;
  return settings.siteUrl;
}
