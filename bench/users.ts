import type { Stack } from '../stack/index.ts';
import { signUpUser } from '../tests/helpers/stack.ts';

/** A confirmed user on the Pro plan (50 MiB files, 1,000 documents), signed in with supabase-js: their access token. */
export async function proUserToken(stack: Stack, prefix = 'bench'): Promise<string> {
  const user = await signUpUser(stack, prefix);
  await stack.db.query("insert into public.subscriptions (user_id, plan_id, status) values ($1, 'pro', 'active')", [user.id]);
  return user.token;
}
