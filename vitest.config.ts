import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Temporal dev server and one PostgreSQL for the whole run, started here.
    globalSetup: ['test/global-setup.ts'],
    // Temporal workers use native threads and much memory: separate processes, one file at a time on 2 cores.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
