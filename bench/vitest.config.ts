import { defineConfig } from "vitest/config";

/** Benchmarks run through vitest only because it runs TypeScript; they assert nothing about speed. */
export default defineConfig({
  test: {
    include: ["bench/**/*.bench.ts"],
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    disableConsoleIntercept: true,
  },
});
