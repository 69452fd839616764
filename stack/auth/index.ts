import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';

/** Placeholder until the Auth API lands. */
export async function createAuthService(_ctx: StackContext): Promise<Service | undefined> {
  return undefined;
}
