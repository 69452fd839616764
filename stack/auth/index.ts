import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';
import { createAuthApp } from './app.ts';
import { authSettings } from './settings.ts';

/**
 * The lite stack's Auth API (GoTrue imitation, contract §2): sign-up, password and refresh-token grants, the user
 * endpoints, logout, the admin user API, JWKS, settings and health, over `auth.*` in the stack's database.
 */
export async function createAuthService(ctx: StackContext): Promise<Service | undefined> {
  const app = createAuthApp({ db: ctx.db, jwt: ctx.jwt, settings: authSettings(ctx), log: ctx.log });
  return { fetch: (request) => app.fetch(request) };
}
