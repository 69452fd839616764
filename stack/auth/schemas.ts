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

/** `POST /token?grant_type=pkce` (GoTrue `PKCEGrantParams`). */
export const PkceGrantSchema = z.object({ auth_code: text, code_verifier: text });

/** `POST /recover` (GoTrue `RecoverParams`). */
export const RecoverSchema = z.object({ email: text, code_challenge: text, code_challenge_method: text });

/** `POST /otp` (GoTrue `OtpParams`); `create_user` defaults to true. */
export const OtpSchema = z.object({
  email: text,
  phone: text,
  create_user: z
    .boolean()
    .nullish()
    .transform((v) => v ?? true),
  data: metadata,
  channel: text,
  code_challenge: text,
  code_challenge_method: text,
});

/** `POST /magiclink` (GoTrue `MagicLinkParams`, deprecated but still served). */
export const MagicLinkSchema = z.object({ email: text, data: metadata, code_challenge: text, code_challenge_method: text });

/** `POST /resend` (GoTrue `ResendConfirmationParams`). */
export const ResendSchema = z.object({
  type: text,
  email: text,
  phone: text,
  code_challenge: text,
  code_challenge_method: text,
});

/** `POST /invite` (GoTrue `InviteParams`). */
export const InviteSchema = z.object({ email: text, data: metadata });

/** `POST /admin/generate_link` (GoTrue `GenerateLinkParams`). */
export const GenerateLinkSchema = z.object({
  type: text,
  email: text,
  new_email: text,
  password: text,
  data: metadata,
  redirect_to: text,
});
