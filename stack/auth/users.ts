import type { TxClient } from '../db/pool.ts';
import { AuthError } from './errors.ts';
import { DEFAULT_AUD, DEFAULT_ROLE } from './settings.ts';

/** GoTrue writes the nil UUID into every `instance_id`; hosted Supabase filters on it. */
export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** An `auth.users` row as this service reads it. */
export interface UserRow {
  id: string;
  aud: string | null;
  role: string | null;
  email: string | null;
  encrypted_password: string | null;
  email_confirmed_at: Date | null;
  invited_at: Date | null;
  confirmation_sent_at: Date | null;
  confirmed_at: Date | null;
  recovery_sent_at: Date | null;
  email_change: string | null;
  email_change_sent_at: Date | null;
  phone: string | null;
  phone_confirmed_at: Date | null;
  phone_change: string | null;
  phone_change_sent_at: Date | null;
  reauthentication_sent_at: Date | null;
  last_sign_in_at: Date | null;
  raw_app_meta_data: Record<string, unknown> | null;
  raw_user_meta_data: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  banned_until: Date | null;
  deleted_at: Date | null;
  is_anonymous: boolean;
  /** One-time token hashes GoTrue keeps on the row ('' when none), and the e-mail change's progress. */
  confirmation_token: string | null;
  recovery_token: string | null;
  email_change_token_new: string | null;
  email_change_token_current: string | null;
  email_change_confirm_status: number | null;
  reauthentication_token: string | null;
}

/** An `auth.identities` row. */
export interface IdentityRow {
  id: string;
  provider_id: string;
  user_id: string;
  identity_data: Record<string, unknown>;
  provider: string;
  last_sign_in_at: Date | null;
  created_at: Date;
  updated_at: Date;
  email: string | null;
}

/** The user object of GoTrue's JSON (contract §2.3); optional timestamps are omitted when null. */
export type UserJson = Record<string, unknown>;

const USER_COLUMNS = `id, aud, role, email, encrypted_password, email_confirmed_at, invited_at, confirmation_sent_at,
  confirmed_at, recovery_sent_at, email_change, email_change_sent_at, phone, phone_confirmed_at, phone_change,
  phone_change_sent_at, reauthentication_sent_at, last_sign_in_at, raw_app_meta_data, raw_user_meta_data,
  created_at, updated_at, banned_until, deleted_at, is_anonymous, confirmation_token, recovery_token,
  email_change_token_new, email_change_token_current, email_change_confirm_status, reauthentication_token`;

function iso(value: Date | null | undefined): string | undefined {
  return value ? new Date(value).toISOString() : undefined;
}

function omitUndefined(entries: Array<[string, unknown]>): Record<string, unknown> {
  return Object.fromEntries(entries.filter(([, v]) => v !== undefined && v !== ''));
}

/** Renders an identity as GoTrue does (`identity_id` is the row id, `id` the provider's subject). */
export function identityJson(row: IdentityRow): Record<string, unknown> {
  return {
    identity_id: row.id,
    id: row.provider_id,
    user_id: row.user_id,
    identity_data: row.identity_data,
    provider: row.provider,
    ...omitUndefined([['last_sign_in_at', iso(row.last_sign_in_at)]]),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    ...omitUndefined([['email', row.email ?? undefined]]),
  };
}

/** Renders a user with its identities in GoTrue's field order. */
export function userJson(row: UserRow, identities: IdentityRow[]): UserJson {
  return {
    id: row.id,
    aud: row.aud ?? '',
    role: row.role ?? '',
    email: row.email ?? '',
    ...omitUndefined([
      ['email_confirmed_at', iso(row.email_confirmed_at)],
      ['invited_at', iso(row.invited_at)],
    ]),
    phone: row.phone ?? '',
    ...omitUndefined([
      ['phone_confirmed_at', iso(row.phone_confirmed_at)],
      ['confirmation_sent_at', iso(row.confirmation_sent_at)],
      ['confirmed_at', iso(row.confirmed_at)],
      ['recovery_sent_at', iso(row.recovery_sent_at)],
      ['new_email', row.email_change ?? undefined],
      ['email_change_sent_at', iso(row.email_change_sent_at)],
      ['new_phone', row.phone_change ?? undefined],
      ['phone_change_sent_at', iso(row.phone_change_sent_at)],
      ['reauthentication_sent_at', iso(row.reauthentication_sent_at)],
      ['last_sign_in_at', iso(row.last_sign_in_at)],
    ]),
    app_metadata: row.raw_app_meta_data ?? {},
    user_metadata: row.raw_user_meta_data ?? {},
    identities: identities.map(identityJson),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    ...omitUndefined([
      ['banned_until', iso(row.banned_until)],
      ['deleted_at', iso(row.deleted_at)],
    ]),
    is_anonymous: row.is_anonymous,
  };
}

/** True while `banned_until` lies in the future. */
export function isBanned(row: UserRow): boolean {
  return row.banned_until !== null && new Date(row.banned_until).getTime() > Date.now();
}

/** The user by id, or undefined. */
export async function findUserById(tx: TxClient, id: string, forUpdate = false): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where id = $1${forUpdate ? ' for update' : ''}`,
    [id],
  );
  return rows[0];
}

/** The non-SSO user with this e-mail (case-insensitive) in `aud`, as GoTrue's `FindUserByEmailAndAudience`. */
export async function findUserByEmail(tx: TxClient, email: string, aud: string): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users
      where instance_id = $3 and lower(email) = lower($1) and aud = $2 and is_sso_user = false`,
    [email, aud, NIL_UUID],
  );
  return rows[0];
}

/** The user with this phone number in `aud`. */
export async function findUserByPhone(tx: TxClient, phone: string, aud: string): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where instance_id = $3 and phone = $1 and aud = $2`,
    [phone, aud, NIL_UUID],
  );
  return rows[0];
}

/**
 * GoTrue's `IsDuplicatedEmail`: another user of `aud` already owns this address, through an identity or the
 * users table. Returns that user.
 */
export async function findDuplicateEmail(
  tx: TxClient,
  email: string,
  aud: string,
  exceptUserId?: string,
): Promise<UserRow | undefined> {
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users u
      where u.aud = $2 and u.id is distinct from $3::uuid
        and (u.id in (select i.user_id from auth.identities i where i.email = lower($1))
             or (lower(u.email) = lower($1) and u.is_sso_user = false))
      limit 1`,
    [email, aud, exceptUserId ?? null],
  );
  return rows[0];
}

/** Identities of the given users, keyed by user id, oldest first. */
export async function identitiesOf(tx: TxClient, userIds: string[]): Promise<Map<string, IdentityRow[]>> {
  const byUser = new Map<string, IdentityRow[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return byUser;
  const { rows } = await tx.query<IdentityRow>(
    `select id, provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at, email
       from auth.identities where user_id = any($1::uuid[]) order by created_at, id`,
    [userIds],
  );
  for (const row of rows) byUser.get(row.user_id)?.push(row);
  return byUser;
}

/** Loads a user and renders it; throws 404 `user_not_found` if it vanished. */
export async function loadUserJson(tx: TxClient, id: string): Promise<UserJson> {
  const row = await findUserById(tx, id);
  if (!row) throw new AuthError(404, 'user_not_found', 'User not found');
  const identities = await identitiesOf(tx, [id]);
  return userJson(row, identities.get(id) ?? []);
}

/** Fields of a new `auth.users` row. */
export interface NewUser {
  id: string;
  aud: string;
  role: string;
  email: string | null;
  phone: string | null;
  encryptedPassword: string;
  appMetadata: Record<string, unknown>;
  userMetadata: Record<string, unknown>;
  emailConfirmed: boolean;
  phoneConfirmed: boolean;
  confirmationSent: boolean;
  bannedUntil: Date | null;
  isAnonymous?: boolean;
}

/**
 * Inserts a user the way GoTrue leaves the row (nil `instance_id`, empty-string tokens rather than NULL, which
 * GoTrue cannot scan), so the row keeps working after a move to hosted Supabase.
 */
export async function insertUser(tx: TxClient, user: NewUser): Promise<void> {
  await tx.query(
    `insert into auth.users (
        instance_id, id, aud, role, email, encrypted_password, email_confirmed_at, confirmation_sent_at,
        raw_app_meta_data, raw_user_meta_data, created_at, updated_at, phone, phone_confirmed_at, banned_until,
        confirmation_token, recovery_token, email_change_token_new, email_change, email_change_token_current,
        phone_change, phone_change_token, reauthentication_token, is_sso_user, is_anonymous)
      values ($1, $2, $3, $4, $5, $6, case when $7 then now() end, case when $8 then now() end,
        $9::jsonb, $10::jsonb, now(), now(), $11, case when $12 then now() end, $13,
        '', '', '', '', '', '', '', '', false, $14)`,
    [
      NIL_UUID,
      user.id,
      user.aud,
      user.role,
      user.email,
      user.encryptedPassword,
      user.emailConfirmed,
      user.confirmationSent,
      JSON.stringify(user.appMetadata),
      JSON.stringify(user.userMetadata),
      user.phone,
      user.phoneConfirmed,
      user.bannedUntil,
      user.isAnonymous ?? false,
    ],
  );
}

/** Inserts an identity (`provider_id` = `identity_data.sub`), as GoTrue's `createNewIdentity`. */
export async function insertIdentity(
  tx: TxClient,
  userId: string,
  provider: string,
  identityData: Record<string, unknown>,
): Promise<void> {
  await tx.query(
    `insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at)
     values ($1, $2, $3::jsonb, $4, now(), now(), now())`,
    [String(identityData.sub), userId, JSON.stringify(identityData), provider],
  );
}

/**
 * Merges `updates` into a metadata column as GoTrue does: keys with a `null` value are removed, the rest set.
 * Done in SQL so concurrent updates of different keys do not overwrite each other.
 */
export async function mergeMetadata(
  tx: TxClient,
  userId: string,
  column: 'raw_user_meta_data' | 'raw_app_meta_data',
  updates: Record<string, unknown>,
): Promise<void> {
  const set = Object.fromEntries(Object.entries(updates).filter(([, v]) => v !== null && v !== undefined));
  const remove = Object.entries(updates)
    .filter(([, v]) => v === null)
    .map(([k]) => k);
  await tx.query(
    `update auth.users set ${column} = (coalesce(${column}, '{}'::jsonb) || $2::jsonb) - $3::text[], updated_at = now()
      where id = $1`,
    [userId, JSON.stringify(set), remove],
  );
}

/** Maps a unique violation on `auth.users` to the conflict GoTrue reports, or rethrows. */
export function conflictFromUniqueViolation(error: unknown, emailCode: 'user_already_exists' | 'email_exists'): never {
  const pgError = error as { code?: string; constraint?: string };
  if (pgError?.code === '23505') {
    if (pgError.constraint?.includes('phone')) {
      throw new AuthError(422, 'phone_exists', 'Phone number already registered by another user');
    }
    if (pgError.constraint === 'users_pkey') {
      throw new AuthError(422, 'user_already_exists', 'A user with this ID already exists');
    }
    throw emailCode === 'user_already_exists'
      ? new AuthError(422, 'user_already_exists', 'User already registered')
      : new AuthError(422, 'email_exists', 'A user with this email address has already been registered');
  }
  throw error;
}

/** The columns that hold a one-time token hash. */
export type TokenColumn =
  | 'confirmation_token'
  | 'recovery_token'
  | 'email_change_token_new'
  | 'email_change_token_current'
  | 'reauthentication_token';

/** The user whose `column` holds `tokenHash` (GoTrue's `FindUserBy…Token`); empty hashes never match. */
export async function findUserByToken(tx: TxClient, columns: TokenColumn[], tokenHash: string): Promise<UserRow | undefined> {
  if (!tokenHash) return undefined;
  const where = columns.map((c) => `${c} = $1`).join(' or ');
  const { rows } = await tx.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where instance_id = $2 and (${where}) limit 1 for update`,
    [tokenHash, NIL_UUID],
  );
  return rows[0];
}

/** How {@link insertEmailUser} fills a new user's metadata. */
export interface EmailUserOptions {
  /** The user's `data` (user_metadata). */
  metadata: Record<string, unknown>;
  /**
   * GoTrue's `/signup` copies `data` into the identity and makes user_metadata the identity's data (with
   * `email_verified` once confirmed); invitations and generated links keep `data` as user_metadata alone.
   */
  asSignup: boolean;
  confirmed: boolean;
}

/** A new e-mail user with its `email` identity (GoTrue's `signupNewUser` + `createNewIdentity`); returns its id. */
export async function insertEmailUser(tx: TxClient, email: string, encryptedPassword: string, options: EmailUserOptions): Promise<string> {
  const id = crypto.randomUUID();
  const identityData: Record<string, unknown> = { sub: id, email, email_verified: false, phone_verified: false };
  if (options.asSignup) for (const [key, value] of Object.entries(options.metadata)) if (!(key in identityData)) identityData[key] = value;
  const userMetadata = options.asSignup ? { ...identityData, ...(options.confirmed ? { email_verified: true } : {}) } : { ...options.metadata };
  await insertUser(tx, {
    id,
    aud: DEFAULT_AUD,
    role: DEFAULT_ROLE,
    email,
    phone: null,
    encryptedPassword,
    appMetadata: { provider: 'email', providers: ['email'] },
    userMetadata,
    emailConfirmed: options.confirmed,
    phoneConfirmed: false,
    confirmationSent: false,
    bannedUntil: null,
  });
  await insertIdentity(tx, id, 'email', identityData);
  return id;
}
