/**
 * A batch survives SIGKILL: a gateway process killed at about half of a 20,000-record MLP batch
 * and started again on the same jobs.dir resumes from its checkpoint; the output then holds every
 * good record exactly once, in input order, and the errors file the 3 bad ones.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { referenceLogits, writeMlpJsonl } from "../jobs/batch-data.js";
import {
  expectExactlyOnce,
  goodLines,
  mlpConfig,
  postBatch,
  waitForBatch,
} from "../jobs/batch-helpers.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { writeConfig } from "./harness.js";

const RECORDS = 20_000;
let gateway: GatewayProcess | undefined;

afterAll(async () => {
  await gateway?.kill();
});

describe("batch durability on the embedded store", () => {
  it("resumes after SIGKILL at ~50% with every record once, in order", async () => {
    const root = mkdtempSync(join(tmpdir(), "infergate-batch-kill-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, "input");
    const configPath = writeConfig(
      mlpConfig(`dir: ${join(root, "jobs")}
        dataDir: ${dataDir}
        batch: { chunkRecords: 256, rowsPerCall: 64, inFlightPerTarget: 1 }`),
    );
    gateway = await startGatewayProcess(configPath);
    const { body } = await postBatch(gateway.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "out.jsonl" },
    });
    const seen = await waitForBatch(
      gateway.url,
      body.id,
      (b) => b.counts.done >= RECORDS * 0.4 || b.status !== "running",
      60_000,
      20,
    );
    await gateway.kill();
    expect(seen.status).toBe("running");
    expect(seen.counts.done).toBeLessThan(RECORDS);

    gateway = await startGatewayProcess(configPath);
    const done = await waitForBatch(gateway.url, body.id);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });
    expectExactlyOnce(dataDir, "out.jsonl", RECORDS);

    // Spot-check values on both sides of the kill against onnxruntime run directly.
    const good = goodLines(RECORDS);
    const lines = readFileSync(join(dataDir, "out.jsonl"), "utf8").trim().split("\n");
    const picks = [0, Math.floor(good.length / 2), good.length - 1];
    const { logits } = await referenceLogits(picks.map((i) => good[i] as number));
    picks.forEach((i, s) => {
      const record = JSON.parse(lines[i] as string) as { outputs: Record<string, number[][]> };
      const row = Object.values(record.outputs)[0]?.[0] ?? [];
      expect(row[0]).toBeCloseTo((logits[s] as Float32Array)[0] as number, 4);
    });
  }, 120_000);
});
