import { Hono } from 'hono';
import { getUser, json, logoutUser, signup, token, updateUser } from './account.ts';
import { createUser, deleteUser, getUserById, listUsers, updateUserById } from './admin.ts';
import { rejectNulInQuery } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { generateLink, invite, magicLinkRoute, otp, reauthenticate, recover, resend } from './email-routes.ts';
import { AuthError, errorResponse } from './errors.ts';
import { authenticateAdmin } from './guards.ts';
import { verifyGet, verifyPost } from './verify.ts';

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
  // GoTrue answers an unknown route with a plain-text 404, which supabase-js reports as a JSON parse error; a JSON
  // error in GoTrue's shape names the route instead.
  app.notFound((c) =>
    errorResponse(
      new AuthError(404, 'not_found', `Not found: ${c.req.method} /auth/v1${new URL(c.req.url).pathname}`),
      c.req.header('x-supabase-api-version'),
      deps.log,
    ),
  );
  app.use('*', async (c, next) => {
    rejectNulInQuery(new URL(c.req.url));
    await next();
  });

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
  app.post('/recover', (c) => recover(deps, c.req.raw));
  app.post('/otp', (c) => otp(deps, c.req.raw));
  app.post('/magiclink', (c) => magicLinkRoute(deps, c.req.raw));
  app.post('/resend', (c) => resend(deps, c.req.raw));
  app.get('/verify', (c) => verifyGet(deps, c.req.raw));
  app.post('/verify', (c) => verifyPost(deps, c.req.raw));
  app.get('/reauthenticate', (c) => reauthenticate(deps, c.req.raw));
  app.post('/invite', async (c) => {
    await authenticateAdmin(deps.db, deps.jwt, c.req.raw);
    return invite(deps, c.req.raw);
  });

  app.use('/admin/*', async (c, next) => {
    await authenticateAdmin(deps.db, deps.jwt, c.req.raw);
    await next();
  });
  app.get('/admin/users', (c) => listUsers(deps, c.req.raw));
  app.post('/admin/users', (c) => createUser(deps, c.req.raw));
  app.get('/admin/users/:id', (c) => getUserById(deps, c.req.param('id')));
  app.put('/admin/users/:id', (c) => updateUserById(deps, c.req.param('id'), c.req.raw));
  app.delete('/admin/users/:id', (c) => deleteUser(deps, c.req.param('id'), c.req.raw));
  app.post('/admin/generate_link', (c) => generateLink(deps, c.req.raw));

  return app;
}
