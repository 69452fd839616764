import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';

/** Placeholder until the rest API lands: the gateway answers 404 for /rest routes. */
export async function createRestService(_ctx: StackContext): Promise<Service | undefined> {
  return undefined;
}
