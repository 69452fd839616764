/**
 * The values `supabase start` uses locally (contract §1.5), so that every Supabase tutorial, tool and `.env`
 * works against the lite stack unchanged. They are public, well-known development values: never use them
 * for anything reachable from outside this machine.
 */
export const DEFAULT_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

/** Legacy HS256 API keys minted by the CLI: `{"iss":"supabase-demo","role":…,"exp":1983812996}`. */
export const DEFAULT_ANON_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0';
export const DEFAULT_SERVICE_ROLE_KEY =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU';

/** Opaque keys; the gateway swaps them for the anon / service_role JWTs. */
export const DEFAULT_PUBLISHABLE_KEY = 'sb_publishable_ACJWlzQHlZjBrEguHvfOxg_3BJgxAaH';
export const DEFAULT_SECRET_KEY = 'sb_secret_N7UND0UgjKTVK-Uodkm0Hg_xSvEMPvz';

export const DEFAULT_API_PORT = 54321;
export const DEFAULT_DB_PORT = 54322;
/** The browser app: `[auth] site_url` in config.toml, where Auth's links lead. */
export const DEFAULT_WEB_PORT = 3000;
export const DEFAULT_HOST = '127.0.0.1';
export const DB_USER = 'postgres';
export const DB_PASSWORD = 'postgres';
export const DB_NAME = 'postgres';

/** The API keys a running stack accepts and hands out. */
export interface ApiKeys {
  anon: string;
  serviceRole: string;
  publishable: string;
  secret: string;
}

export const DEFAULT_KEYS: ApiKeys = {
  anon: DEFAULT_ANON_KEY,
  serviceRole: DEFAULT_SERVICE_ROLE_KEY,
  publishable: DEFAULT_PUBLISHABLE_KEY,
  secret: DEFAULT_SECRET_KEY,
};
