import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // End-to-end tests spawn the real CLI and touch real databases: give them time, not mocks.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
