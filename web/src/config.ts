/**
 * Where the app finds its Supabase project. The lite stack's web server writes `window.__EDGEBRAIN__` into the
 * page (its URL and keys change with `--port`); a build for a hosted project bakes in `VITE_SUPABASE_URL` and
 * `VITE_SUPABASE_PUBLISHABLE_KEY` instead.
 */
export interface AppConfig {
  supabaseUrl: string;
  publishableKey: string;
}

declare global {
  interface Window {
    __EDGEBRAIN__?: Partial<AppConfig>;
  }
}

/** The function names the docs page lists, found in `supabase/functions` when the app is built. */
declare const __EDGEBRAIN_FUNCTIONS__: string[];
export const FUNCTION_NAMES: string[] = __EDGEBRAIN_FUNCTIONS__;

export function loadConfig(): AppConfig | { missing: string[] } {
  const injected = window.__EDGEBRAIN__ ?? {};
  const supabaseUrl = injected.supabaseUrl ?? import.meta.env.VITE_SUPABASE_URL;
  const publishableKey = injected.publishableKey ?? import.meta.env.VITE_SUPABASE_PUBLISHABLE_KEY;
  const missing = [
    ...(supabaseUrl ? [] : ['VITE_SUPABASE_URL']),
    ...(publishableKey ? [] : ['VITE_SUPABASE_PUBLISHABLE_KEY']),
  ];
  if (missing.length > 0) return { missing };
  return { supabaseUrl: String(supabaseUrl).replace(/\/+$/, ''), publishableKey: String(publishableKey) };
}

export function functionsUrl(config: AppConfig): string {
  return `${config.supabaseUrl}/functions/v1`;
}
