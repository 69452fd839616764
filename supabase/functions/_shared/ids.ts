import { z } from '@hono/zod-openapi';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `value` is a UUID (any version, either case), as Postgres `uuid` accepts it. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

/** Path parameters `{id}` holding a UUID; a malformed id is a 400 naming `param.id`. */
export const IdParamsSchema = z.object({ id: z.uuid('id must be a UUID').openapi({ param: { name: 'id', in: 'path' } }) });
