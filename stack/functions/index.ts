import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';

/** Placeholder until the functions API lands: the gateway answers 404 for /functions routes. */
export async function createFunctionsService(_ctx: StackContext): Promise<Service | undefined> {
  return undefined;
}
