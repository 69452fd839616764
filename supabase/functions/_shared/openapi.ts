import { z } from '@hono/zod-openapi';

/** The one error body (`_shared/errors.ts`) as an OpenAPI component, for route definitions. */
export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'validation_failed' }),
      message: z.string(),
      details: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi('Error');

/** An error entry for `createRoute({ responses })`: documents a status with the one error body. */
export const documentedError = (description: string) => ({
  description,
  content: { 'application/json': { schema: ErrorSchema } },
});

/** The body of every function's `GET /<name>/healthz`. */
export const HealthSchema = z.object({ status: z.literal('ok') }).openapi('Health');

/**
 * A whole-number query parameter: only plain decimal digits, bounded; the messages name the parameter, so a
 * 400 says which one was wrong.
 */
export const intQueryParam = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${name} must be at least ${min}`).max(max, `${name} must be at most ${max}`));
