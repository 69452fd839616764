/**
 * The API docs page: Swagger UI (bundled from swagger-ui-dist, so nothing is fetched from a CDN) showing one
 * function's OpenAPI document at a time. "Authorize" uses the OAuth2 password flow against the `token` function,
 * and the token is kept across functions (and reloads), so "Try it out" works everywhere after one sign-in.
 */
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-es-bundle.js';
import 'swagger-ui-dist/swagger-ui.css';
import './docs.css';
import { FUNCTION_NAMES, functionsUrl, loadConfig } from './config.ts';

const config = loadConfig();
const select = document.getElementById('function-select') as HTMLSelectElement;
const message = document.getElementById('docs-message') as HTMLParagraphElement;

function say(text: string) {
  message.textContent = text;
  message.hidden = false;
}

type Spec = {
  servers?: Array<{ url: string; description?: string }>;
  components?: { securitySchemes?: Record<string, { type?: string; flows?: Record<string, { tokenUrl?: string; refreshUrl?: string }> }> };
};

/**
 * The document as served has `servers: [{url: "/functions/v1"}]`, right relative to where it is served from.
 * Handed to Swagger UI as an object it has no address of its own, so its server and token URLs are resolved
 * against the document's URL here.
 */
function absolutize(spec: Spec, documentUrl: string): Spec {
  const absolute = (url: string | undefined) => (url ? new URL(url, documentUrl).href : url);
  for (const server of spec.servers ?? []) server.url = absolute(server.url)!;
  for (const scheme of Object.values(spec.components?.securitySchemes ?? {})) {
    for (const flow of Object.values(scheme.flows ?? {})) {
      flow.tokenUrl = absolute(flow.tokenUrl);
      flow.refreshUrl = absolute(flow.refreshUrl);
    }
  }
  return spec;
}

async function show(name: string) {
  if ('missing' in config) return;
  const base = functionsUrl(config);
  const url = `${base}/${name}/openapi.json`;
  const response = await fetch(url).catch(() => null);
  if (!response?.ok) {
    say(`The ${name} function's OpenAPI document could not be loaded from ${url}. Is the function served?`);
    return;
  }
  message.hidden = true;
  SwaggerUIBundle({
    spec: absolutize((await response.json()) as Spec, url),
    dom_id: '#swagger-ui',
    persistAuthorization: true,
    tryItOutEnabled: false,
    displayRequestDuration: true,
  });
}

if ('missing' in config) {
  say(`This page does not know its Supabase project: build it with ${config.missing.join(' and ')} set.`);
} else {
  for (const name of FUNCTION_NAMES) select.append(new Option(name, name));
  const initial = FUNCTION_NAMES.includes(location.hash.slice(1)) ? location.hash.slice(1) : (FUNCTION_NAMES.includes('movies') ? 'movies' : FUNCTION_NAMES[0]);
  select.value = initial;
  select.addEventListener('change', () => {
    location.hash = select.value;
    void show(select.value);
  });
  void show(initial);
}
