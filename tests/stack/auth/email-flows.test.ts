import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../../stack/index.ts';
import { anonClient, serviceClient, startTestStack, uniqueEmail } from '../../helpers/stack.ts';
import { callAuth, errorShape, PASSWORD } from './helpers.ts';
import { codeIn, EMAIL_PROJECT, fragment, lastMailTo, linkIn, mailsTo, openLink, pkceClient } from './mail-helpers.ts';

const NEW_PASSWORD = 'battery-staple-77';
const EXPIRED_LINK = { error: 'access_denied', error_code: 'otp_expired', error_description: 'Email link is invalid or has expired', sb: '' };
const INVALID_CODE = { name: 'AuthApiError', message: 'Token has expired or is invalid', status: 403, code: 'otp_expired' };

describe('auth e-mail flows (confirmations on), driven with supabase-js', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startTestStack({ projectDir: EMAIL_PROJECT });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  /** A confirmed user made with the admin API, and a client signed in as them. */
  async function confirmedUser(prefix: string, metadata: Record<string, unknown> = {}) {
    const email = uniqueEmail(prefix);
    const created = await serviceClient(stack).auth.admin.createUser({ email, password: PASSWORD, email_confirm: true, user_metadata: metadata });
    if (created.error) throw created.error;
    const client = anonClient(stack);
    const signedIn = await client.auth.signInWithPassword({ email, password: PASSWORD });
    if (signedIn.error) throw signedIn.error;
    return { email, id: created.data.user.id, client, session: signedIn.data.session };
  }

  describe('sign-up confirmation', () => {
    it('mails a link that confirms the address and lands on redirect_to with the session in the fragment (once)', async () => {
      const email = uniqueEmail('confirm-link');
      const client = anonClient(stack);
      const { data, error } = await client.auth.signUp({ email, password: PASSWORD, options: { emailRedirectTo: 'http://localhost:5173/welcome' } });
      expect(error).toBeNull();
      expect(data.session).toBeNull();
      expect(data.user).toMatchObject({ email, confirmation_sent_at: expect.any(String) });

      const mail = await lastMailTo(stack, email);
      expect(mail).toMatchObject({
        Subject: 'Confirm your email address',
        From: { Name: 'edgebrain tests', Address: 'auth@edgebrain.test' },
        To: [{ Name: '', Address: email }],
      });
      const link = new URL(linkIn(mail));
      expect(`${link.origin}${link.pathname}`).toBe(`${stack.apiUrl}/auth/v1/verify`);
      expect(Object.fromEntries(link.searchParams)).toEqual({
        token: expect.stringMatching(/^[0-9a-f]{56}$/),
        type: 'signup',
        redirect_to: 'http://localhost:5173/welcome',
      });

      const { status, location } = await openLink(link.href);
      expect(status).toBe(303);
      expect(`${location.origin}${location.pathname}`).toBe('http://localhost:5173/welcome');
      const tokens = fragment(location);
      expect(tokens).toEqual({
        access_token: expect.any(String),
        expires_at: expect.stringMatching(/^\d+$/),
        expires_in: '3600',
        refresh_token: expect.stringMatching(/^[a-z0-9]{12}$/),
        sb: '',
        token_type: 'bearer',
        type: 'signup',
      });
      expect(decodeJwt(tokens.access_token)).toMatchObject({ email, amr: [{ method: 'otp', timestamp: expect.any(Number) }] });
      const me = await anonClient(stack).auth.getUser(tokens.access_token);
      expect(me.data.user).toMatchObject({ email, email_confirmed_at: expect.any(String), user_metadata: { email_verified: true } });
      expect(me.data.user!.identities![0].identity_data).toMatchObject({ email_verified: true });

      // The token is spent: the same link now lands on the error.
      const again = await openLink(link.href);
      expect(again.status).toBe(303);
      expect(fragment(again.location)).toEqual(EXPIRED_LINK);
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).error).toBeNull();
    });

    it('confirms with the e-mailed code through verifyOtp, refusing a wrong code with 403 otp_expired', async () => {
      const email = uniqueEmail('confirm-code');
      await anonClient(stack).auth.signUp({ email, password: PASSWORD });
      const code = codeIn(await lastMailTo(stack, email));
      expect(code).toMatch(/^\d{8}$/);
      const client = anonClient(stack);
      const wrong = await client.auth.verifyOtp({ email, token: code === '00000000' ? '11111111' : '00000000', type: 'email' });
      expect(errorShape(wrong.error)).toEqual(INVALID_CODE);
      const { data, error } = await client.auth.verifyOtp({ email, token: code, type: 'email' });
      expect(error).toBeNull();
      expect(data.session!.user.email_confirmed_at).toEqual(expect.any(String));
    });

    it('resends the confirmation with a new code; the earlier code stops working', async () => {
      const email = uniqueEmail('resend');
      await anonClient(stack).auth.signUp({ email, password: PASSWORD });
      const first = codeIn(await lastMailTo(stack, email));
      const resent = await anonClient(stack).auth.resend({ type: 'signup', email });
      expect(resent.error).toBeNull();
      const mails = await mailsTo(stack, email);
      expect(mails).toHaveLength(2);
      const second = codeIn(mails[0]);
      expect(errorShape((await anonClient(stack).auth.verifyOtp({ email, token: first, type: 'signup' })).error)).toEqual(INVALID_CODE);
      expect((await anonClient(stack).auth.verifyOtp({ email, token: second, type: 'signup' })).error).toBeNull();
    });

    it('sends links back only to allowed URLs: an unknown host falls back to site_url, allow-list globs pass', async () => {
      const evil = uniqueEmail('evil');
      await anonClient(stack).auth.signUp({ email: evil, password: PASSWORD, options: { emailRedirectTo: 'https://evil.example.com/steal' } });
      expect(new URL(linkIn(await lastMailTo(stack, evil))).searchParams.get('redirect_to')).toBe('http://127.0.0.1:3000');

      const preview = uniqueEmail('preview');
      const target = 'https://pr-12.example.app/auth/callback';
      await anonClient(stack).auth.signUp({ email: preview, password: PASSWORD, options: { emailRedirectTo: target } });
      const link = linkIn(await lastMailTo(stack, preview));
      expect(new URL(link).searchParams.get('redirect_to')).toBe(target);
      expect((await openLink(link)).location.href).toMatch(/^https:\/\/pr-12\.example\.app\/auth\/callback#access_token=/);
    });
  });

  describe('password recovery, magic links and codes', () => {
    it('resets a password: the mailed token_hash signs in through verifyOtp, then updateUser sets the new password', async () => {
      const { email } = await confirmedUser('recover');
      const client = anonClient(stack);
      const sent = await client.auth.resetPasswordForEmail(email, { redirectTo: 'http://localhost:5173/reset' });
      expect(sent).toEqual({ data: {}, error: null });
      const mail = await lastMailTo(stack, email);
      expect(mail.Subject).toBe('Reset your password');
      const link = new URL(linkIn(mail));
      expect(link.searchParams.get('type')).toBe('recovery');
      expect(link.searchParams.get('redirect_to')).toBe('http://localhost:5173/reset');

      const verified = await client.auth.verifyOtp({ token_hash: link.searchParams.get('token')!, type: 'recovery' });
      expect(verified.error).toBeNull();
      expect(verified.data.user!.email).toBe(email);
      expect((await client.auth.updateUser({ password: NEW_PASSWORD })).error).toBeNull();
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: NEW_PASSWORD })).error).toBeNull();
      expect(errorShape((await anonClient(stack).auth.signInWithPassword({ email, password: PASSWORD })).error)).toMatchObject({
        code: 'invalid_credentials',
      });
    });

    it('answers a reset for an unknown address with the same 200 {} and sends nothing', async () => {
      const email = uniqueEmail('nobody');
      expect(await anonClient(stack).auth.resetPasswordForEmail(email)).toEqual({ data: {}, error: null });
      expect(await mailsTo(stack, email)).toEqual([]);
    });

    it('signs in with signInWithOtp through the configured magic-link template, by code or by link', async () => {
      const { email } = await confirmedUser('otp', { plan: 'pro' });
      const client = anonClient(stack);
      const sent = await client.auth.signInWithOtp({ email, options: { emailRedirectTo: 'http://localhost:5173/app', shouldCreateUser: false } });
      expect(sent.error).toBeNull();
      const mail = await lastMailTo(stack, email);
      expect(mail.Subject).toBe('Sign in to edgebrain tests');
      const link = new URL(linkIn(mail));
      expect(mail.HTML).toContain(`<h1>Hello ${email}</h1>`);
      expect(mail.HTML).toContain('Site: http://127.0.0.1:3000 | Back to: http://localhost:5173/app | Plan: pro');
      expect(mail.HTML).toContain(`Hash: <code>${link.searchParams.get('token')}</code>`);
      expect(link.searchParams.get('type')).toBe('magiclink');
      const { data, error } = await client.auth.verifyOtp({ email, token: codeIn(mail), type: 'email' });
      expect(error).toBeNull();
      expect(decodeJwt(data.session!.access_token).amr).toEqual([{ method: 'otp', timestamp: expect.any(Number) }]);

      // A second request mails a fresh link, which works in a browser.
      await anonClient(stack).auth.signInWithOtp({ email });
      const { location } = await openLink(linkIn(await lastMailTo(stack, email)));
      expect(fragment(location)).toMatchObject({ type: 'magiclink', token_type: 'bearer' });
    });

    it('refuses a new address when shouldCreateUser is false, and signs one up (confirmation mail) otherwise', async () => {
      const email = uniqueEmail('otp-new');
      const refused = await anonClient(stack).auth.signInWithOtp({ email, options: { shouldCreateUser: false } });
      expect(errorShape(refused.error)).toEqual({ name: 'AuthApiError', message: 'Signups not allowed for otp', status: 422, code: 'otp_disabled' });
      expect(await mailsTo(stack, email)).toEqual([]);

      expect((await anonClient(stack).auth.signInWithOtp({ email, options: { data: { source: 'otp' } } })).error).toBeNull();
      const mail = await lastMailTo(stack, email);
      expect(mail.Subject).toBe('Confirm your email address');
      const { data } = await anonClient(stack).auth.verifyOtp({ email, token: codeIn(mail), type: 'email' });
      expect(data.user).toMatchObject({ email, email_confirmed_at: expect.any(String), user_metadata: { source: 'otp' } });
    });
  });

  describe('invitations and generated links (admin API)', () => {
    it('invites a user whose invitation link signs them in so they can choose a password', async () => {
      const email = uniqueEmail('invite');
      const admin = serviceClient(stack).auth.admin;
      const { data, error } = await admin.inviteUserByEmail(email, { redirectTo: 'http://localhost:5173/set-password', data: { team: 'a' } });
      expect(error).toBeNull();
      expect(data.user).toMatchObject({ email, invited_at: expect.any(String), user_metadata: { team: 'a' } });
      expect(data.user!.email_confirmed_at).toBeUndefined();

      const mail = await lastMailTo(stack, email);
      expect(mail.Subject).toBe("You've been invited");
      const { location } = await openLink(linkIn(mail));
      expect(`${location.origin}${location.pathname}`).toBe('http://localhost:5173/set-password');
      const tokens = fragment(location);
      expect(tokens.type).toBe('invite');
      const { rows } = await stack.db.query(`select encrypted_password from auth.users where email = $1`, [email]);
      expect(rows[0].encrypted_password).toMatch(/^\$2a\$10\$/);

      const client = anonClient(stack);
      await client.auth.setSession({ access_token: tokens.access_token, refresh_token: tokens.refresh_token });
      expect((await client.auth.updateUser({ password: NEW_PASSWORD })).error).toBeNull();
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: NEW_PASSWORD })).error).toBeNull();

      const again = await admin.inviteUserByEmail(email);
      expect(errorShape(again.error)).toEqual({
        name: 'AuthApiError',
        message: 'A user with this email address has already been registered',
        status: 422,
        code: 'email_exists',
      });
    });

    it('generates sign-up, magic-link and recovery links without sending mail', async () => {
      const email = uniqueEmail('generated');
      const admin = serviceClient(stack).auth.admin;
      const signup = await admin.generateLink({ type: 'signup', email, password: PASSWORD, options: { redirectTo: 'http://localhost:5173/in' } });
      expect(signup.error).toBeNull();
      expect(signup.data.properties).toEqual({
        action_link: expect.stringContaining(`${stack.apiUrl}/auth/v1/verify?token=`),
        email_otp: expect.stringMatching(/^\d{8}$/),
        hashed_token: expect.stringMatching(/^[0-9a-f]{56}$/),
        redirect_to: 'http://localhost:5173/in',
        verification_type: 'signup',
      });
      expect(signup.data.user).toMatchObject({ email, confirmation_sent_at: expect.any(String) });
      expect(await mailsTo(stack, email)).toEqual([]);
      const { location } = await openLink(signup.data.properties!.action_link);
      expect(fragment(location)).toMatchObject({ type: 'signup' });

      const magic = await admin.generateLink({ type: 'magiclink', email });
      const signedIn = await anonClient(stack).auth.verifyOtp({ token_hash: magic.data.properties!.hashed_token, type: 'magiclink' });
      expect(signedIn.data.user!.email).toBe(email);

      const missing = await admin.generateLink({ type: 'recovery', email: uniqueEmail('missing') });
      expect(errorShape(missing.error)).toEqual({ name: 'AuthApiError', message: 'User with this email not found', status: 404, code: 'user_not_found' });
      const anon = await callAuth(stack, '/admin/generate_link', { method: 'POST', body: { type: 'magiclink', email } });
      expect(anon.status).toBe(403);
      expect(anon.body).toEqual({ code: 'not_admin', message: 'User not allowed' });
    });
  });

  describe('account changes', () => {
    it('changes the e-mail address only after both the current and the new address confirm', async () => {
      const { email, id, client } = await confirmedUser('change-old');
      const next = uniqueEmail('change-new');
      const { data, error } = await client.auth.updateUser({ email: next });
      expect(error).toBeNull();
      expect(data.user).toMatchObject({ email, new_email: next, email_change_sent_at: expect.any(String) });
      const toOld = await lastMailTo(stack, email);
      const toNew = await lastMailTo(stack, next);
      expect([toOld.Subject, toNew.Subject]).toEqual(['Confirm your new email address', 'Confirm your new email address']);

      const first = await anonClient(stack).auth.verifyOtp({ token_hash: new URL(linkIn(toOld)).searchParams.get('token')!, type: 'email_change' });
      expect(first).toEqual({ data: { user: null, session: null }, error: null });
      const midway = await stack.db.query('select email, email_change, email_change_confirm_status from auth.users where id = $1', [id]);
      expect(midway.rows[0]).toEqual({ email, email_change: next, email_change_confirm_status: 1 });

      const { location } = await openLink(linkIn(toNew));
      expect(fragment(location)).toMatchObject({ type: 'email_change' });
      const done = await stack.db.query(
        `select u.email, u.email_change, i.identity_data ->> 'email' as identity_email
           from auth.users u join auth.identities i on i.user_id = u.id and i.provider = 'email' where u.id = $1`,
        [id],
      );
      expect(done.rows[0]).toEqual({ email: next, email_change: '', identity_email: next });
      expect((await anonClient(stack).auth.signInWithPassword({ email: next, password: PASSWORD })).error).toBeNull();
    });

    it('answers the first of the two e-mail change links, opened in a browser, with a message instead of a session', async () => {
      const { email, client } = await confirmedUser('change-get');
      const next = uniqueEmail('change-get-new');
      await client.auth.updateUser({ email: next }, { emailRedirectTo: 'http://localhost:5173/account' });
      const first = await openLink(linkIn(await lastMailTo(stack, next)));
      expect(`${first.location.origin}${first.location.pathname}`).toBe('http://localhost:5173/account');
      expect(fragment(first.location)).toEqual({
        message: 'Confirmation link accepted. Please proceed to confirm link sent to the other email',
        sb: '',
      });
      const second = await anonClient(stack).auth.verifyOtp({ email, token: codeIn(await lastMailTo(stack, email)), type: 'email_change' });
      expect(second.error).toBeNull();
      expect(second.data.user!.email).toBe(next);
    });

    it('asks a session older than a day for the reauthentication nonce before changing the password', async () => {
      const { email, client, session } = await confirmedUser('reauth');
      await stack.db.query(`update auth.sessions set created_at = now() - interval '25 hours' where id = $1`, [
        decodeJwt(session.access_token).session_id,
      ]);
      const needed = await client.auth.updateUser({ password: NEW_PASSWORD });
      expect(errorShape(needed.error)).toEqual({
        name: 'AuthApiError',
        message: 'Password update requires reauthentication',
        status: 400,
        code: 'reauthentication_needed',
      });

      expect((await client.auth.reauthenticate()).error).toBeNull();
      const mail = await lastMailTo(stack, email);
      const nonce = codeIn(mail);
      expect(mail.Subject).toBe(`${nonce} is your verification code`);
      const wrong = await client.auth.updateUser({ password: NEW_PASSWORD, nonce: nonce === '00000000' ? '11111111' : '00000000' });
      expect(errorShape(wrong.error)).toEqual({
        name: 'AuthApiError',
        message: 'Nonce has expired or is invalid',
        status: 422,
        code: 'reauthentication_not_valid',
      });
      expect((await client.auth.updateUser({ password: NEW_PASSWORD, nonce })).error).toBeNull();
      expect((await anonClient(stack).auth.signInWithPassword({ email, password: NEW_PASSWORD })).error).toBeNull();
    });
  });

  describe('PKCE (flowType: pkce, as @supabase/ssr uses)', () => {
    it('confirms a sign-up through ?code= and exchangeCodeForSession; a code works once', async () => {
      const email = uniqueEmail('pkce-signup');
      const client = pkceClient(stack);
      const signUp = await client.auth.signUp({ email, password: PASSWORD, options: { emailRedirectTo: 'http://localhost:5173/auth/confirm' } });
      expect(signUp.error).toBeNull();
      const link = new URL(linkIn(await lastMailTo(stack, email)));
      expect(link.searchParams.get('token')).toMatch(/^pkce_[0-9a-f]{56}$/);

      const { status, location } = await openLink(link.href);
      expect(status).toBe(303);
      expect(location.hash).toBe('');
      expect(`${location.origin}${location.pathname}`).toBe('http://localhost:5173/auth/confirm');
      const code = location.searchParams.get('code')!;
      expect(code).toMatch(/^[0-9a-f-]{36}$/);

      const exchanged = await client.auth.exchangeCodeForSession(code);
      expect(exchanged.error).toBeNull();
      expect(exchanged.data.session!.user).toMatchObject({ email, email_confirmed_at: expect.any(String) });
      expect(decodeJwt(exchanged.data.session!.access_token).amr).toEqual([{ method: 'email/signup', timestamp: expect.any(Number) }]);

      const replay = await callAuth(stack, '/token?grant_type=pkce', { method: 'POST', body: { auth_code: code, code_verifier: 'v'.repeat(43) } });
      expect(replay).toMatchObject({ status: 404, body: { code: 'flow_state_not_found', message: 'invalid flow state, no valid flow state found' } });
    });

    it('recovers a password through a PKCE link (redirectType recovery) and refuses a wrong code_verifier', async () => {
      const { email } = await confirmedUser('pkce-recover');
      const client = pkceClient(stack);
      expect((await client.auth.resetPasswordForEmail(email, { redirectTo: 'http://localhost:5173/reset' })).error).toBeNull();
      const { location } = await openLink(linkIn(await lastMailTo(stack, email)));
      const code = location.searchParams.get('code')!;

      const wrong = await callAuth(stack, '/token?grant_type=pkce', { method: 'POST', body: { auth_code: code, code_verifier: 'w'.repeat(43) } });
      expect(wrong).toMatchObject({
        status: 400,
        body: { code: 'bad_code_verifier', message: 'code challenge does not match previously saved code verifier' },
      });
      const { data, error } = await client.auth.exchangeCodeForSession(code);
      expect(error).toBeNull();
      // auth-js returns it at run time though its type omits it.
      expect((data as { redirectType?: string | null }).redirectType).toBe('recovery');
      expect(data.user!.email).toBe(email);
    });

    it('verifies a PKCE token_hash on the server side (verifyOtp), as the SSR confirm route does', async () => {
      const email = uniqueEmail('pkce-hash');
      await pkceClient(stack).auth.signUp({ email, password: PASSWORD });
      const tokenHash = new URL(linkIn(await lastMailTo(stack, email))).searchParams.get('token')!;
      const { data, error } = await anonClient(stack).auth.verifyOtp({ token_hash: tokenHash, type: 'email' });
      expect(error).toBeNull();
      expect(data.user!.email).toBe(email);
    });
  });

  describe('/verify and unknown routes', () => {
    it('redirects a bad link to site_url with the error in the fragment, and refuses a link without type as JSON', async () => {
      const bad = await openLink(`${stack.apiUrl}/auth/v1/verify?token=nope&type=signup&redirect_to=https://evil.example.com/`);
      expect(bad.status).toBe(303);
      expect(`${bad.location.origin}${bad.location.pathname}`).toBe('http://127.0.0.1:3000/');
      expect(fragment(bad.location)).toEqual(EXPIRED_LINK);
      const noType = await callAuth(stack, '/verify?token=abc', { apikey: null });
      expect(noType).toMatchObject({ status: 400, body: { code: 'validation_failed', message: 'Verify requires a verification type' } });
    });

    it('answers an unknown /auth/v1 route with a JSON 404 that supabase-js reports by its code', async () => {
      const raw = await callAuth(stack, '/no-such-route', { method: 'POST', body: {} });
      expect(raw.status).toBe(404);
      expect(raw.body).toEqual({ code: 'not_found', message: 'Not found: POST /auth/v1/no-such-route' });
      const legacy = await callAuth(stack, '/no-such-route', { apiVersion: null });
      expect(legacy.body).toEqual({ code: 404, error_code: 'not_found', msg: 'Not found: GET /auth/v1/no-such-route' });
      const { client } = await confirmedUser('unknown-route');
      const { error } = await client.auth.mfa.enroll({ factorType: 'totp' });
      expect(errorShape(error)).toEqual({ name: 'AuthApiError', message: 'Not found: POST /auth/v1/factors', status: 404, code: 'not_found' });
    });
  });
});
