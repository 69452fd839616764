import { Hono } from 'hono';
import { getUser, json, logoutUser, signup, token, updateUser } from './account.ts';
import { createUser, deleteUser, getUserById, listUsers, updateUserById } from './admin.ts';
import type { AuthDeps } from './deps.ts';
import { errorResponse } from './errors.ts';
import { authenticateAdmin } from './guards.ts';

/** GoTrue's `/settings` body, from config.toml (only e-mail, and optionally anonymous, sign-ins exist here). */
function settingsBody(deps: AuthDeps): Record<string, unknown> {
  const providers = [
    'apple', 'azure', 'bitbucket', 'discord', 'facebook', 'snapchat', 'figma', 'fly', 'github', 'gitlab', 'google',
    'keycloak', 'kakao', 'linkedin', 'linkedin_oidc', 'notion', 'spotify', 'slack', 'slack_oidc', 'workos', 'twitch',
    'twitter', 'phone', 'zoom',
  ];
  return {
    external: {
      anonymous_users: deps.settings.anonymousEnabled,
      ...Object.fromEntries(providers.map((p) => [p, false])),
      email: deps.settings.emailEnabled,
    },
    disable_signup: deps.settings.disableSignup,
    mailer_autoconfirm: deps.settings.mailerAutoconfirm,
    phone_autoconfirm: false,
    sms_provider: '',
    saml_enabled: false,
    saml_private_key_next_configured: false,
    passkeys_enabled: false,
  };
}

/**
 * The Auth API (a GoTrue imitation, contract §2) as a Hono app. The gateway mounts it at `/auth/v1` with the
 * prefix stripped and has already turned `sb_` keys into role JWTs.
 */
export function createAuthApp(deps: AuthDeps): Hono {
  const app = new Hono();

  app.onError((error, c) => errorResponse(error, c.req.header('x-supabase-api-version'), deps.log));
  app.notFound(() => new Response('404 page not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } }));

  app.get('/health', () =>
    json({ version: 'lite', name: 'GoTrue', description: 'GoTrue is a user registration and authentication API' }),
  );
  app.get('/.well-known/jwks.json', () => json(deps.jwt.jwks(), 200, { 'cache-control': 'public, max-age=600' }));
  app.get('/settings', () => json(settingsBody(deps)));

  app.post('/signup', (c) => signup(deps, c.req.raw));
  app.post('/token', (c) => token(deps, c.req.raw));
  app.get('/user', (c) => getUser(deps, c.req.raw));
  app.put('/user', (c) => updateUser(deps, c.req.raw));
  app.post('/logout', (c) => logoutUser(deps, c.req.raw));

  app.use('/admin/*', async (c, next) => {
    await authenticateAdmin(deps.db, deps.jwt, c.req.raw);
    await next();
  });
  app.get('/admin/users', (c) => listUsers(deps, c.req.raw));
  app.post('/admin/users', (c) => createUser(deps, c.req.raw));
  app.get('/admin/users/:id', (c) => getUserById(deps, c.req.param('id')));
  app.put('/admin/users/:id', (c) => updateUserById(deps, c.req.param('id'), c.req.raw));
  app.delete('/admin/users/:id', (c) => deleteUser(deps, c.req.param('id'), c.req.raw));

  return app;
}
