import { describe, expect, it } from 'vitest';
import { createApp } from '../../../supabase/functions/movies/app.ts';
import { asUser, fakeUserDeps, postgrestError, recordingLogger } from '../fake-deps.ts';

// The movies app in process, with a fake Data API: validation, authentication and error mapping.
// tests/functions/movies.test.ts runs it in real Deno against the lite stack.
function app(answer?: Parameters<typeof fakeUserDeps>[0]) {
  const { deps, requests } = fakeUserDeps(answer);
  const log = recordingLogger();
  return { app: createApp({ ...deps, logger: log.logger }), requests, log };
}

describe('movies app (in process)', () => {
  it('asks the Data API for one movie as the caller and answers it with a numeric rating', async () => {
    const { app: movies, requests } = app(() => ({ status: 200, body: { movie_id: 7, title: 'Heat', released: 1995, rating: '8.3' } }));
    const response = await movies.request('/movies?movie_id=7', { headers: asUser });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ movie_id: 7, title: 'Heat', released: 1995, rating: 8.3 });
    expect(requests.map((r) => [r.method, r.path, r.search.get('movie_id'), r.headers.get('authorization')])).toEqual([
      ['GET', '/rest/v1/movies', 'eq.7', 'Bearer user-token'],
    ]);
  });

  it('returns 404 movie_not_found when the Data API finds no row (PGRST116)', async () => {
    const { app: movies } = app(() => ({ status: 406, body: postgrestError('PGRST116') }));
    const response = await movies.request('/movies?movie_id=7', { headers: asUser });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'movie_not_found', message: 'No movie with that id.' } });
  });

  it('returns a generic 500 for an unexpected database error and logs its cause', async () => {
    const { app: movies, log } = app(() => ({ status: 500, body: postgrestError('XX000', 'disk on fire') }));
    const response = await movies.request('/movies/new?year=2000', { headers: asUser });
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: { code: 'internal_error', message: 'An unexpected error occurred.' } });
    expect(log.lines.find((line) => line.level === 'error')?.fields.err).toMatchObject({ code: 'XX000', message: 'disk on fire' });
  });

  it('returns 400 naming the parameter before asking the database', async () => {
    const { app: movies, requests } = app();
    const response = await movies.request('/movies/new?year=1700&rating=11', { headers: asUser });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [
          { path: 'query.year', code: 'too_small', message: 'year must be at least 1888' },
          { path: 'query.rating', code: 'too_big', message: 'rating must be at most 10' },
        ],
      },
    });
    expect(requests).toEqual([]);
  });

  it('returns 401 without a token and asks nothing', async () => {
    const { app: movies, requests } = app();
    const response = await movies.request('/movies?movie_id=1');
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: { code: 'missing_authorization', message: 'Authorization header is required.' } });
    expect(requests).toEqual([]);
  });

  it('serves healthz and the OpenAPI document without a token', async () => {
    const { app: movies } = app();
    expect(await (await movies.request('/movies/healthz')).json()).toEqual({ status: 'ok' });
    const document = await (await movies.request('/movies/openapi.json')).json();
    expect(Object.keys(document.paths).sort()).toEqual(['/movies', '/movies/healthz', '/movies/new']);
  });
});
