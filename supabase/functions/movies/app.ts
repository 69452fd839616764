import { z } from '@hono/zod-openapi';
import { createFunctionApp } from '../_shared/app.ts';
import { unwrap } from '../_shared/database-errors.ts';
import { ApiError } from '../_shared/errors.ts';
import type { Logger } from '../_shared/log.ts';
import { documentedError, intQueryParam } from '../_shared/openapi.ts';
import { type UserRouteDeps, userRoute } from '../_shared/routes.ts';

/** What the movies app needs: a token verifier and a per-request client acting as the caller. */
export interface MoviesDeps extends UserRouteDeps {
  logger?: Logger;
}

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

const movieNotFound = () => new ApiError(404, 'movie_not_found', 'No movie with that id.');

/** `numeric` columns may arrive as strings from some drivers; the API always answers numbers. */
const toMovie = (row: { movie_id: number; title: string; released: number; rating: number | string }) => ({ ...row, rating: Number(row.rating) });

/**
 * The "add a service" example: `GET /movies?movie_id=` and `GET /movies/new?year=&rating=`, for signed-in users.
 * Reads go through the caller's client, so the `movies` policies decide.
 */
export function createApp(deps: MoviesDeps) {
  const app = createFunctionApp({ name: 'movies', description: 'Movies by id, and new releases by year and rating.', logger: deps.logger });

  const getMovie = userRoute(deps, {
    method: 'get',
    path: '/',
    summary: 'One movie by id',
    request: { query: z.object({ movie_id: intQueryParam('movie_id', 1, Number.MAX_SAFE_INTEGER).openapi({ example: '1' }) }) },
    responses: {
      200: { description: 'The movie', content: { 'application/json': { schema: MovieSchema } } },
      400: documentedError('movie_id is missing or not a positive whole number'),
      404: documentedError('movie_not_found'),
    },
  });
  app.openapi(getMovie, async (c) => {
    const { movie_id } = c.req.valid('query');
    const movie = unwrap(
      await c.var.supabase.from('movies').select('movie_id, title, released, rating').eq('movie_id', movie_id).single(),
      { PGRST116: movieNotFound },
    );
    return c.json(toMovie(movie), 200);
  });

  const newMovies = userRoute(deps, {
    method: 'get',
    path: '/new',
    summary: 'Movies released since a year with at least a rating',
    request: {
      query: z.object({
        year: intQueryParam('year', 1888, 2100).openapi({ description: 'Earliest year of release.', example: '2000' }),
        rating: ratingParam.optional().openapi({ description: 'Minimum rating (default 0).', example: '8.5' }),
      }),
    },
    responses: {
      200: { description: 'Matching movies, best rated first', content: { 'application/json': { schema: z.array(MovieSchema) } } },
      400: documentedError('year or rating is missing, not a number, or out of range'),
    },
  });
  app.openapi(newMovies, async (c) => {
    const { year, rating } = c.req.valid('query');
    const movies = unwrap(
      await c.var.supabase.rpc('movies_released_since', { year, min_rating: rating ?? 0 }).select('movie_id, title, released, rating'),
    );
    return c.json(movies.map(toMovie), 200);
  });

  return app;
}
