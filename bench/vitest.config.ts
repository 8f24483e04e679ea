import { defineConfig } from "vitest/config";

/**
 * Benchmarks run through vitest only because it runs TypeScript; they assert nothing about speed.
 * One file per scenario, run one at a time (they would share the machine's cores otherwise).
 * Pick scenarios with BENCH_ONLY=overhead,cache (or `npm run bench -- overhead`, vitest's own
 * file-name filter).
 */
const only = process.env.BENCH_ONLY?.split(",")
  .map((s) => s.trim())
  .filter((s) => s !== "");

export default defineConfig({
  test: {
    include:
      only === undefined || only.length === 0
        ? ["bench/**/*.bench.ts"]
        : only.map((name) => `bench/**/${name}.bench.ts`),
    testTimeout: 15 * 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    fileParallelism: false,
    disableConsoleIntercept: true,
  },
});
