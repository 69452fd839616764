import type { StackContext } from '../context.ts';
import type { Service } from '../gateway.ts';
import { RestApi } from './api.ts';

/**
 * The Data API (`/rest/v1`): PostgREST's query grammar as postgrest-js emits it, executed as the request's JWT role
 * in one transaction per request, over a schema cache read from the catalog.
 */
export async function createRestService(ctx: StackContext): Promise<Service | undefined> {
  const api = new RestApi(ctx);
  await api.start();
  return {
    fetch: (request) => api.handle(request),
    forward: (request) => api.forward(request),
    plain: (request) => api.plain(request),
    close: () => api.close(),
  };
}
