import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../stack/index.ts';
import { signUpUser, startTestStack } from '../helpers/stack.ts';

// The "add a service" example end to end: product migrations and config on the lite stack, the movies function in
// real Deno, reached through the gateway with a user's access token.
let stack: Stack;
let token: string;
const ids: Record<string, number> = {};

beforeAll(async () => {
  stack = await startTestStack({ seed: false });
  const { rows } = await stack.db.query<{ movie_id: string; title: string }>(
    `insert into public.movies (title, released, rating) values
       ('The Shawshank Redemption', 1994, 9.2), ('The Dark Knight', 2008, 9.0),
       ('Inception', 2010, 8.8), ('Parasite', 2019, 8.5)
     returning movie_id, title`,
  );
  for (const r of rows) ids[r.title] = Number(r.movie_id);
  token = (await signUpUser(stack, 'movies')).token;
});

afterAll(async () => {
  await stack?.stop();
});

/** Functions are reachable without an API key; with only the publishable key the gateway sends the anon JWT. */
function get(path: string, bearer: string | null = token, apikey = true): Promise<Response> {
  return fetch(`${stack.apiUrl}/functions/v1/movies${path}`, {
    headers: {
      ...(apikey ? { apikey: stack.keys.publishable } : {}),
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
  });
}

async function expectError(res: Response, status: number, body: unknown) {
  expect(res.status).toBe(status);
  expect(await res.json()).toEqual(body);
}

describe('GET /movies?movie_id=', () => {
  it('returns the movie', async () => {
    const res = await get(`?movie_id=${ids['The Dark Knight']}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ movie_id: ids['The Dark Knight'], title: 'The Dark Knight', released: 2008, rating: 9 });
  });

  it('returns 404 movie_not_found for an id that does not exist', async () => {
    await expectError(await get('?movie_id=999999'), 404, { error: { code: 'movie_not_found', message: 'No movie with that id.' } });
  });

  it.each([
    ['missing', '', 'Invalid input: expected string, received undefined'],
    ['not a number', '?movie_id=abc', 'movie_id must be a whole number'],
    ['negative', '?movie_id=-3', 'movie_id must be a whole number'],
    ['zero', '?movie_id=0', 'movie_id must be at least 1'],
  ])('returns 400 naming movie_id when it is %s', async (_case, query, message) => {
    await expectError(await get(query), 400, {
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: 'query.movie_id', code: expect.any(String), message }],
      },
    });
  });

  it('returns 401 without any credentials, with a bare Bearer challenge', async () => {
    const res = await get('?movie_id=1', null, false);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    await expectError(res, 401, { error: { code: 'missing_authorization', message: 'Authorization header is required.' } });
  });

  it.each([
    ['the anon key is sent as the token', () => get('?movie_id=1', stack.keys.anon)],
    ['only the publishable key is sent (the gateway swaps in the anon JWT)', () => get('?movie_id=1', null)],
  ])('returns 401 invalid_token when %s', async (_case, call) => {
    const res = await call();
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token"/);
    await expectError(res, 401, { error: { code: 'invalid_token', message: 'Token "aud" claim must be "authenticated".' } });
  });
});

describe('GET /movies/new?year=&rating=', () => {
  it('returns movies released since the year with at least the rating, best first', async () => {
    const res = await get('/new?year=2008&rating=8.8');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([
      { movie_id: ids['The Dark Knight'], title: 'The Dark Knight', released: 2008, rating: 9 },
      { movie_id: ids.Inception, title: 'Inception', released: 2010, rating: 8.8 },
    ]);
  });

  it('defaults the minimum rating to 0', async () => {
    const res = await get('/new?year=2010');
    expect((await res.json()).map((m: { title: string }) => m.title)).toEqual(['Inception', 'Parasite']);
  });

  it('returns an empty list when nothing matches', async () => {
    const res = await get('/new?year=2100');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it.each([
    ['year', '/new?year=nineteen', 'year must be a whole number'],
    ['year', '/new?year=1700', 'year must be at least 1888'],
    ['rating', '/new?year=2000&rating=high', 'rating must be a number'],
    ['rating', '/new?year=2000&rating=11', 'rating must be at most 10'],
  ])('returns 400 naming %s when it is invalid (%s)', async (param, path, message) => {
    await expectError(await get(path), 400, {
      error: {
        code: 'validation_failed',
        message: 'The request is invalid.',
        details: [{ path: `query.${param}`, code: expect.any(String), message }],
      },
    });
  });
});
