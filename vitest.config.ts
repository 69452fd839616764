import { defineConfig } from 'vitest/config';

// Each test file that needs a stack starts its own (ephemeral PGlite, free ports), so files are isolated.
// Two cores on CI: run files two at a time and give stack start-up room.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
