/** The embedded SQLite job store against the job-store conformance suite. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteJobStore } from "../../src/jobs/sqlite-store.js";
import { describeStoreConformance } from "./conformance.js";

const root = mkdtempSync(join(tmpdir(), "infergate-jobstore-"));

describeStoreConformance(
  "sqlite",
  async (space, hooks) =>
    new SqliteJobStore({
      dir: join(root, space),
      resultTtlMs: hooks.config.resultTtlSeconds * 1000,
      ...hooks,
    }),
);

describe("sqlite job store", () => {
  it("refuses a second store on the same directory while the first holds it", async () => {
    const dir = join(root, "locked");
    const first = new SqliteJobStore({ dir, resultTtlMs: 1000 });
    expect(() => new SqliteJobStore({ dir, resultTtlMs: 1000 })).toThrow(/locked|busy/i);
    await first.close(0);
    const again = new SqliteJobStore({ dir, resultTtlMs: 1000 });
    await again.close(0);
  });
});
