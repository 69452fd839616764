import type { User } from '@supabase/supabase-js';
import { allUsers, type CliContext, findUser, table, unwrap } from './context.ts';
import { CliError } from './errors.ts';

/** The admin CLI's own floor for passwords it sets (the Auth admin API checks none): NIST SP 800-63B's minimum. */
export const MIN_PASSWORD_LENGTH = 8;
const MAX_PASSWORD_BYTES = 72; // bcrypt's limit, which GoTrue enforces
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DOCUMENTS_BUCKET = 'documents';

interface UserSummary {
  id: string;
  email: string | undefined;
  name: string | null;
  plan: string;
  created_at: string;
  last_sign_in_at: string | null;
}

function summary(user: User, plans: Map<string, string>): UserSummary {
  const name = (user.user_metadata as { name?: unknown } | undefined)?.name;
  return {
    id: user.id,
    email: user.email,
    name: typeof name === 'string' ? name : null,
    plan: plans.get(user.id) ?? 'free',
    created_at: user.created_at,
    last_sign_in_at: user.last_sign_in_at ?? null,
  };
}

/** user id → plan id of an active (or trialing, or past-due) subscription; no row means free. */
export async function activePlans(ctx: CliContext): Promise<Map<string, string>> {
  const rows = unwrap(
    ctx,
    await ctx.admin.from('subscriptions').select('user_id, plan_id').in('status', ['active', 'trialing', 'past_due']),
    'Reading subscriptions',
  );
  return new Map(rows.map((r) => [r.user_id, r.plan_id]));
}

/** `create-user --name --email --password`: a confirmed user with their name in user_metadata. */
export async function createUser(ctx: CliContext, options: { name: string; email: string; password: string }): Promise<void> {
  const email = options.email.trim();
  if (!EMAIL.test(email)) throw new CliError('invalid_input', `"${options.email}" is not an e-mail address.`);
  if (options.name.trim() === '') throw new CliError('invalid_input', '--name must not be empty.');
  if (options.password.length < MIN_PASSWORD_LENGTH) {
    throw new CliError('weak_password', `The password is too short: at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (Buffer.byteLength(options.password) > MAX_PASSWORD_BYTES) {
    throw new CliError('weak_password', `The password is too long: at most ${MAX_PASSWORD_BYTES} bytes.`);
  }
  const { data, error } = await ctx.admin.auth.admin.createUser({
    email,
    password: options.password,
    email_confirm: true,
    user_metadata: { name: options.name.trim() },
  });
  if (error) {
    if (error.code === 'email_exists' || error.code === 'user_already_exists') {
      throw new CliError('email_exists', `A user with the e-mail address ${email} already exists.`);
    }
    if (error.code === 'weak_password') throw new CliError('weak_password', error.message);
    if (error.code === 'validation_failed' || error.status === 400) throw new CliError('invalid_input', error.message);
    throw ctx.net.explain(new CliError('unexpected', `Creating the user failed: ${error.message}`), error.status);
  }
  const user = summary(data.user, new Map());
  ctx.print(user, () => `Created user ${user.email} (${user.name}), id ${user.id}.`);
}

/** `list-users`: every user with name, plan and last sign-in. */
export async function listUsers(ctx: CliContext): Promise<void> {
  const [users, plans] = await Promise.all([allUsers(ctx), activePlans(ctx)]);
  const rows = users.map((u) => summary(u, plans));
  ctx.print(rows, () => table(rows as unknown as Array<Record<string, unknown>>, ['id', 'email', 'name', 'plan', 'created_at', 'last_sign_in_at']));
}

/** Every object name under `folder/` in a bucket, a page at a time. */
async function folderObjects(ctx: CliContext, bucket: string, folder: string): Promise<string[]> {
  const names: string[] = [];
  for (let offset = 0; ; offset += 1000) {
    const page = unwrap(ctx, await ctx.admin.storage.from(bucket).list(folder, { limit: 1000, offset }), 'Listing files');
    names.push(...page.filter((o) => o.id !== null).map((o) => `${folder}/${o.name}`));
    if (page.length < 1000) return names;
  }
}

/** `delete-user <email|id> --yes`: removes the user's files from Storage, then the user (rows cascade). */
export async function deleteUser(ctx: CliContext, who: string, options: { yes?: boolean }): Promise<void> {
  const user = await findUser(ctx, who);
  const files = await folderObjects(ctx, DOCUMENTS_BUCKET, user.id);
  if (!options.yes) {
    throw new CliError(
      'invalid_input',
      `This deletes ${user.email} (${user.id}), their ${files.length} file(s) and all their rows. Run again with --yes to do it.`,
    );
  }
  for (let i = 0; i < files.length; i += 100) {
    const batch = files.slice(i, i + 100);
    unwrap(ctx, await ctx.admin.storage.from(DOCUMENTS_BUCKET).remove(batch), 'Removing files');
    ctx.progress(`Removed ${Math.min(i + 100, files.length)}/${files.length} files`);
  }
  const { error } = await ctx.admin.auth.admin.deleteUser(user.id);
  if (error) throw ctx.net.explain(new CliError('unexpected', `Deleting the user failed: ${error.message}`), error.status);
  const result = { id: user.id, email: user.email, files_removed: files.length };
  ctx.print(result, () => `Deleted ${user.email} (${user.id}) and ${files.length} file(s).`);
}

/** `token --email --password`: signs in with the password grant and prints the access token. */
export async function token(ctx: CliContext, options: { email: string; password: string }): Promise<void> {
  const { data, error } = await ctx.anon.auth.signInWithPassword({ email: options.email, password: options.password });
  if (error) {
    if (error.code === 'invalid_credentials' || error.status === 400) {
      throw new CliError('unauthorized', 'Invalid e-mail or password.');
    }
    throw ctx.net.explain(new CliError('unexpected', `Signing in failed: ${error.message}`), error.status);
  }
  const session = data.session;
  ctx.print(
    {
      access_token: session.access_token,
      token_type: session.token_type,
      expires_in: session.expires_in,
      expires_at: session.expires_at,
      refresh_token: session.refresh_token,
      user_id: session.user.id,
    },
    () => session.access_token,
  );
}
