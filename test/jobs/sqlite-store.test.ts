/** The embedded SQLite job store against the job-store conformance suite. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
