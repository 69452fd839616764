import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import type { TxClient } from '../db/pool.ts';
import { json } from './account.ts';
import { parseJson, readBodyText, readJson } from './body.ts';
import type { AuthDeps } from './deps.ts';
import { AuthError } from './errors.ts';
import { checkPasswordStrength, hashPassword, isBcryptHash, MAX_PASSWORD_LENGTH } from './passwords.ts';
import { AdminDeleteSchema, AdminUserSchema } from './schemas.ts';
import { logout } from './sessions.ts';
import { DEFAULT_AUD, DEFAULT_ROLE } from './settings.ts';
import {
  conflictFromUniqueViolation,
  findDuplicateEmail,
  findUserById,
  findUserByPhone,
  identitiesOf,
  insertIdentity,
  insertUser,
  loadUserJson,
  mergeMetadata,
  NIL_UUID,
  userJson,
  type UserRow,
} from './users.ts';
import { banUntil, isUuid, validateEmail, validatePhone } from './validation.ts';

type AdminUserParams = z.infer<typeof AdminUserSchema>;

const DEFAULT_PER_PAGE = 50;

/** A `page`/`per_page` value as Go's `strconv.ParseUint` reads it; empty means the default. */
function parsePageParam(raw: string | null, fallback: number): number {
  if (raw === null || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    throw new AuthError(400, 'validation_failed', `Bad Pagination Parameters: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  return Number(raw);
}

/**
 * GoTrue's `Link` header: the request's own path and query with `page` replaced, keys sorted (Go's
 * `url.Values.Encode`), so `page` comes before `per_page` — auth-js reads the page number right after the first `=`.
 */
function linkHeader(url: URL, page: number, totalPages: number): string {
  const at = (p: number) => {
    const params = new URLSearchParams(url.searchParams);
    params.set('page', String(p));
    params.sort();
    return `<${url.pathname}?${params.toString()}>`;
  };
  return `${totalPages > page ? `${at(page + 1)}; rel="next", ` : ''}${at(totalPages)}; rel="last"`;
}

/** `GET /admin/users?page=&per_page=&filter=`: newest first, with `X-Total-Count` and `Link`. */
export async function listUsers(deps: AuthDeps, request: Request): Promise<Response> {
  const url = new URL(request.url);
  const page = Math.max(1, parsePageParam(url.searchParams.get('page'), 1));
  let perPage = parsePageParam(url.searchParams.get('per_page'), DEFAULT_PER_PAGE);
  if (perPage < 1) perPage = DEFAULT_PER_PAGE;
  const filter = url.searchParams.get('filter') ?? '';
  const { total, users } = await deps.db.tx(
    async (tx) => {
      const where = `instance_id = $1 and aud = $2 and ($3 = '' or email ilike '%' || $3 || '%' or raw_user_meta_data ->> 'full_name' ilike '%' || $3 || '%')`;
      const args = [NIL_UUID, DEFAULT_AUD, filter];
      const count = await tx.query<{ n: string }>(`select count(*)::text as n from auth.users where ${where}`, args);
      const { rows } = await tx.query<UserRow>(
        `select * from auth.users where ${where} order by created_at desc, id desc limit $4 offset $5`,
        [...args, perPage, (page - 1) * perPage],
      );
      const identities = await identitiesOf(tx, rows.map((r) => r.id));
      return { total: Number(count.rows[0].n), users: rows.map((r) => userJson(r, identities.get(r.id) ?? [])) };
    },
    { readOnly: true },
  );
  const totalPages = Math.ceil(total / perPage);
  return json({ users, aud: DEFAULT_AUD }, 200, {
    link: linkHeader(url, page, totalPages),
    'x-total-count': String(total),
  });
}

/** The `{user_id}` path parameter, or GoTrue's 404s (`validation_failed` for a non-UUID, `user_not_found`). */
async function loadTarget(tx: TxClient, id: string): Promise<UserRow> {
  if (!isUuid(id)) throw new AuthError(404, 'validation_failed', 'user_id must be an UUID');
  const user = await findUserById(tx, id, true);
  if (!user) throw new AuthError(404, 'user_not_found', 'User not found');
  return user;
}

/** `GET /admin/users/{id}`. */
export async function getUserById(deps: AuthDeps, id: string): Promise<Response> {
  return json(
    await deps.db.tx(async (tx) => {
      await loadTarget(tx, id);
      return loadUserJson(tx, id);
    }),
  );
}

function randomPassword(): string {
  return randomBytes(48).toString('base64url').slice(0, 64);
}

/**
 * `POST /admin/users` (200 with the user, as GoTrue). Accepts `password` or a bcrypt `password_hash`; without
 * either the user gets an unguessable password. No password-strength check, as in GoTrue's admin API.
 */
export async function createUser(deps: AuthDeps, request: Request): Promise<Response> {
  const params = await readJson(request, AdminUserSchema);
  const aud = params.aud || DEFAULT_AUD;
  if (!params.email && !params.phone) {
    throw new AuthError(400, 'validation_failed', 'Cannot create a user without either an email or phone');
  }
  const email = params.email ? validateEmail(params.email) : '';
  const phone = params.phone ? validatePhone(params.phone) : '';
  if (params.password !== null && params.password !== undefined && params.password_hash) {
    throw new AuthError(400, 'validation_failed', 'Only a password or a password hash should be provided');
  }
  if (params.password_hash && !isBcryptHash(params.password_hash)) {
    throw new AuthError(400, 'validation_failed', 'password_hash must be a bcrypt hash ($2a$/$2b$/$2y$)');
  }
  if (params.password && Buffer.byteLength(params.password) > MAX_PASSWORD_LENGTH) {
    throw new AuthError(400, 'validation_failed', 'bcrypt: password length exceeds 72 bytes');
  }
  let id: string = crypto.randomUUID();
  if (params.id) {
    if (!isUuid(params.id)) throw new AuthError(400, 'validation_failed', 'ID must conform to the uuid v4 format');
    if (params.id === NIL_UUID) throw new AuthError(400, 'validation_failed', 'ID cannot be a nil uuid');
    id = params.id.toLowerCase();
  }
  const bannedUntil = params.ban_duration ? banUntil(params.ban_duration) : null;
  const providers = [...(email ? ['email'] : []), ...(phone ? ['phone'] : [])];

  const dupes = await deps.db.tx(
    async (tx) => ({
      email: email ? await findDuplicateEmail(tx, email, aud) : undefined,
      phone: phone ? await findUserByPhone(tx, phone, aud) : undefined,
    }),
    { readOnly: true },
  );
  if (dupes.email) throw new AuthError(422, 'email_exists', 'A user with this email address has already been registered');
  if (dupes.phone) throw new AuthError(422, 'phone_exists', 'Phone number already registered by another user');

  const encryptedPassword = params.password_hash || (await hashPassword(params.password || randomPassword()));
  const userMetadata = { ...(params.user_metadata ?? {}), ...(params.email_confirm ? { email_verified: true } : {}) };
  const appMetadata = { provider: providers[0], providers, ...(params.app_metadata ?? {}) };
  let body;
  try {
    body = await deps.db.tx(async (tx) => {
      await insertUser(tx, {
        id,
        aud,
        role: params.role || DEFAULT_ROLE,
        email: email || null,
        phone: phone || null,
        encryptedPassword,
        appMetadata,
        userMetadata,
        emailConfirmed: params.email_confirm,
        phoneConfirmed: params.phone_confirm,
        confirmationSent: false,
        bannedUntil,
      });
      if (email) await insertIdentity(tx, id, 'email', { sub: id, email, email_verified: false, phone_verified: false });
      if (phone) await insertIdentity(tx, id, 'phone', { sub: id, phone, email_verified: false, phone_verified: false });
      return loadUserJson(tx, id);
    });
  } catch (error) {
    conflictFromUniqueViolation(error, 'email_exists');
  }
  return json(body);
}

async function applyAdminUpdate(tx: TxClient, user: UserRow, params: AdminUserParams, email: string, phone: string, encryptedPassword: string | undefined, bannedUntil: Date | null | undefined): Promise<void> {
  if (params.role) await tx.query('update auth.users set role = $2, updated_at = now() where id = $1', [user.id, params.role.trim()]);
  if (params.email_confirm) {
    await tx.query(`update auth.users set email_confirmed_at = now(), confirmation_token = '', updated_at = now() where id = $1`, [user.id]);
    await mergeMetadata(tx, user.id, 'raw_user_meta_data', { email_verified: true });
  }
  if (params.phone_confirm) {
    await tx.query(`update auth.users set phone_confirmed_at = now(), confirmation_token = '', updated_at = now() where id = $1`, [user.id]);
  }
  if (encryptedPassword !== undefined) {
    await tx.query('update auth.users set encrypted_password = $2, updated_at = now() where id = $1', [user.id, encryptedPassword]);
    // GoTrue ends every session of a user whose password an admin changed.
    await logout(tx, user.id, undefined, 'global');
  }
  for (const [provider, value, verified] of [
    ['email', email, params.email_confirm],
    ['phone', phone, params.phone_confirm],
  ] as const) {
    if (!value) continue;
    const updated = await tx.query(
      `update auth.identities set identity_data = identity_data || $3::jsonb, updated_at = now()
        where user_id = $1 and provider = $2`,
      [user.id, provider, JSON.stringify({ [provider]: value, [`${provider}_verified`]: verified })],
    );
    if (!updated.rowCount) {
      await insertIdentity(tx, user.id, provider, {
        sub: user.id,
        [provider]: value,
        email_verified: provider === 'email' && verified,
        phone_verified: provider === 'phone' && verified,
      });
      await tx.query(
        `update auth.users set raw_app_meta_data = jsonb_set(coalesce(raw_app_meta_data, '{}'), '{providers}',
            coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) || to_jsonb($2::text)) where id = $1
            and not coalesce(raw_app_meta_data -> 'providers', '[]'::jsonb) ? $2`,
        [user.id, provider],
      );
    }
    if (verified && user.is_anonymous) await tx.query('update auth.users set is_anonymous = false where id = $1', [user.id]);
    await tx.query(`update auth.users set ${provider} = $2, updated_at = now() where id = $1`, [user.id, value]);
  }
  if (params.app_metadata) await mergeMetadata(tx, user.id, 'raw_app_meta_data', params.app_metadata);
  if (params.user_metadata) await mergeMetadata(tx, user.id, 'raw_user_meta_data', params.user_metadata);
  if (bannedUntil !== undefined) {
    await tx.query('update auth.users set banned_until = $2, updated_at = now() where id = $1', [user.id, bannedUntil]);
  }
}

/** `PUT /admin/users/{id}`: the same attributes as create; the new password is strength-checked, as in GoTrue. */
export async function updateUserById(deps: AuthDeps, id: string, request: Request): Promise<Response> {
  if (!isUuid(id)) throw new AuthError(404, 'validation_failed', 'user_id must be an UUID');
  const exists = await deps.db.tx((tx) => findUserById(tx, id), { readOnly: true });
  if (!exists) throw new AuthError(404, 'user_not_found', 'User not found');
  const params = await readJson(request, AdminUserSchema);
  const email = params.email ? validateEmail(params.email) : '';
  const phone = params.phone ? validatePhone(params.phone) : '';
  const bannedUntil = params.ban_duration ? banUntil(params.ban_duration) : undefined;
  let encryptedPassword: string | undefined;
  if (params.password !== null && params.password !== undefined) {
    checkPasswordStrength(params.password, deps.settings);
    encryptedPassword = await hashPassword(params.password);
  }
  try {
    const body = await deps.db.tx(async (tx) => {
      const user = await loadTarget(tx, id);
      await applyAdminUpdate(tx, user, params, email, phone, encryptedPassword, bannedUntil);
      return loadUserJson(tx, id);
    });
    return json(body);
  } catch (error) {
    return conflictFromUniqueViolation(error, 'email_exists');
  }
}

/**
 * `DELETE /admin/users/{id}` → 200 `{}`. Hard delete removes the row (identities and sessions cascade);
 * `should_soft_delete` keeps it with `deleted_at`, clears its addresses and password, and ends its sessions.
 */
export async function deleteUser(deps: AuthDeps, id: string, request: Request): Promise<Response> {
  const text = await readBodyText(request);
  // GoTrue only parses a non-empty body here.
  const params = text.trim() ? parseJson(text, AdminDeleteSchema) : { should_soft_delete: false };
  await deps.db.tx(async (tx) => {
    const user = await loadTarget(tx, id);
    await tx.query('delete from auth.refresh_tokens where user_id = $1', [user.id]);
    if (!params.should_soft_delete) {
      await tx.query('delete from auth.users where id = $1', [user.id]);
      return;
    }
    if (user.deleted_at) return;
    await logout(tx, user.id, undefined, 'global');
    await tx.query('delete from auth.identities where user_id = $1', [user.id]);
    await tx.query(
      `update auth.users set email = null, phone = null, email_change = '', phone_change = '', encrypted_password = '',
          confirmation_token = '', recovery_token = '', email_change_token_current = '', email_change_token_new = '',
          phone_change_token = '', reauthentication_token = '', raw_app_meta_data = '{}'::jsonb,
          raw_user_meta_data = '{}'::jsonb, deleted_at = now(), updated_at = now()
        where id = $1`,
      [user.id],
    );
  });
  return json({});
}
