import { z } from 'zod';

// Go's decoder leaves a field at its zero value for `null`, so optional strings read as '' and maps as absent.
const text = z
  .string()
  .nullish()
  .transform((v) => v ?? '');
const metadata = z
  .record(z.string(), z.unknown())
  .nullish()
  .transform((v) => v ?? undefined);
const flag = z
  .boolean()
  .nullish()
  .transform((v) => v ?? false);

/** `POST /signup` (GoTrue `SignupParams`). */
export const SignupSchema = z.object({
  email: text,
  phone: text,
  password: text,
  data: metadata,
  channel: text,
  code_challenge: text,
  code_challenge_method: text,
});

/** `POST /token?grant_type=password` (GoTrue `PasswordGrantParams`). */
export const PasswordGrantSchema = z.object({ email: text, phone: text, password: text });

/** `POST /token?grant_type=refresh_token`. */
export const RefreshGrantSchema = z.object({ refresh_token: text });

/** `PUT /user` (GoTrue `UserUpdateParams`); `password: null` means "not given", like Go's `*string`. */
export const UserUpdateSchema = z.object({
  email: text,
  password: z.string().nullish(),
  current_password: z.string().nullish(),
  nonce: text,
  data: metadata,
  app_metadata: metadata,
  phone: text,
  channel: text,
  code_challenge: text,
  code_challenge_method: text,
});

/** `POST /admin/users` and `PUT /admin/users/{id}` (GoTrue `AdminUserParams`). */
export const AdminUserSchema = z.object({
  id: text,
  aud: text,
  role: text,
  email: text,
  phone: text,
  password: z.string().nullish(),
  password_hash: text,
  email_confirm: flag,
  phone_confirm: flag,
  user_metadata: metadata,
  app_metadata: metadata,
  ban_duration: text,
});

/** `DELETE /admin/users/{id}` optional body. */
export const AdminDeleteSchema = z.object({ should_soft_delete: flag });
