import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';

/** Placeholder until the storage API lands: the gateway answers 404 for /storage routes. */
export async function createStorageService(_ctx: StackContext): Promise<Service | undefined> {
  return undefined;
}
