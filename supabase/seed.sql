-- Demo rows for local development (`npm run dev` on a fresh database, `npm run db:reset`). Tests never need them.
insert into public.movies (title, released, rating) values
  ('The Shawshank Redemption', 1994, 9.2),
  ('The Godfather', 1972, 9.2),
  ('The Dark Knight', 2008, 9.0),
  ('Pulp Fiction', 1994, 8.9),
  ('Spirited Away', 2001, 8.6),
  ('Parasite', 2019, 8.5),
  ('Inception', 2010, 8.8),
  ('Everything Everywhere All at Once', 2022, 7.8);
