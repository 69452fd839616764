import { createRoute, z } from '@hono/zod-openapi';
import type { PostgrestError, SupabaseClient } from '@supabase/supabase-js';
import type { MiddlewareHandler } from 'hono';
import { type AuthVariables, requireUser, type TokenVerifier } from '../_shared/auth.ts';
import { ApiError } from '../_shared/errors.ts';
import { type BaseVariables, createApp as createFunctionApp } from '../_shared/http.ts';
import type { Logger } from '../_shared/log.ts';
import { errorResponse, intQueryParam } from '../_shared/openapi.ts';

/** What the movies app needs: a token verifier and a per-request client acting as the caller. */
export interface MoviesDeps {
  verify: TokenVerifier;
  userClient: (accessToken: string) => SupabaseClient;
  logger?: Logger;
}

type MoviesEnv = { Variables: BaseVariables & AuthVariables };

export const MovieSchema = z
  .object({
    movie_id: z.number().int().openapi({ example: 1 }),
    title: z.string().openapi({ example: 'The Shawshank Redemption' }),
    released: z.number().int().openapi({ description: 'Year of release.', example: 1994 }),
    rating: z.number().openapi({ description: 'Average rating, 0.0–9.9.', example: 9.2 }),
  })
  .openapi('Movie');

const ratingParam = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'rating must be a number')
  .transform(Number)
  .pipe(z.number().min(0, 'rating must be at least 0').max(10, 'rating must be at most 10'));

const getMovieRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'One movie by id',
  security: [{ bearer: [] }],
  request: { query: z.object({ movie_id: intQueryParam('movie_id', 1, Number.MAX_SAFE_INTEGER) }) },
  responses: {
    200: { description: 'The movie', content: { 'application/json': { schema: MovieSchema } } },
    400: errorResponse('movie_id is missing or not a positive whole number'),
    401: errorResponse('No valid access token'),
    404: errorResponse('No movie with that id'),
  },
});

const newMoviesRoute = createRoute({
  method: 'get',
  path: '/new',
  summary: 'Movies released since a year with at least a rating',
  security: [{ bearer: [] }],
  request: {
    query: z.object({
      year: intQueryParam('year', 1888, 2100),
      rating: ratingParam.optional().openapi({ description: 'Minimum rating (default 0).', example: '8.5' }),
    }),
  },
  responses: {
    200: { description: 'Matching movies, best rated first', content: { 'application/json': { schema: z.array(MovieSchema) } } },
    400: errorResponse('year or rating is missing, not a number, or out of range'),
    401: errorResponse('No valid access token'),
  },
});

/** Maps a Data API error by its code (never its message): not found is the caller's answer, the rest is ours. */
function fromPostgrest(error: PostgrestError): ApiError {
  if (error.code === 'PGRST116') return new ApiError(404, 'movie_not_found', 'No movie with that id.');
  return new ApiError(500, 'internal_error', 'An unexpected error occurred.', { cause: error });
}

/** Numeric columns come back from Postgres `numeric` as numbers or strings depending on the driver: normalise. */
const toMovie = (row: Record<string, unknown>) => MovieSchema.parse({ ...row, rating: Number(row.rating) });

/**
 * The "add a service" example: `GET /movies?movie_id=` and `GET /movies/new?year=&rating=`, for signed-in users.
 * Reads go through the caller's client, so the `movies` policies decide.
 */
export function createApp(deps: MoviesDeps) {
  const app = createFunctionApp<MoviesEnv>({ basePath: '/movies', logger: deps.logger });
  const authenticate = requireUser(deps.verify) as unknown as MiddlewareHandler<MoviesEnv>;
  app.use('*', (c, next) => (c.req.method === 'OPTIONS' || c.req.path.endsWith('/openapi.json') ? next() : authenticate(c, next)));

  app.openapi(getMovieRoute, async (c) => {
    const { movie_id } = c.req.valid('query');
    const { data, error } = await deps
      .userClient(c.var.accessToken)
      .from('movies')
      .select('movie_id, title, released, rating')
      .eq('movie_id', movie_id)
      .single();
    if (error) throw fromPostgrest(error);
    return c.json(toMovie(data), 200);
  });

  app.openapi(newMoviesRoute, async (c) => {
    const { year, rating } = c.req.valid('query');
    const { data, error } = await deps
      .userClient(c.var.accessToken)
      .rpc('movies_released_since', { year, min_rating: rating ?? 0 })
      .select('movie_id, title, released, rating');
    if (error) throw fromPostgrest(error);
    return c.json((data as Array<Record<string, unknown>>).map(toMovie), 200);
  });

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
  app.doc('/openapi.json', { openapi: '3.1.0', info: { title: 'movies', version: '1.0.0' } });
  return app;
}
