/**
 * A batch survives SIGKILL: a gateway process killed at about half of a 20,000-record MLP batch
 * and started again on the same jobs.dir resumes from its checkpoint; the output then holds every
 * good record exactly once, in input order, and the errors file the 3 bad ones.
 */
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BAD_LINES, referenceLogits, writeMlpJsonl } from "../jobs/batch-data.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { MODELS_DIR, writeConfig } from "./harness.js";

const RECORDS = 20_000;
let gateway: GatewayProcess | undefined;

afterAll(async () => {
  await gateway?.kill();
});

interface BatchView {
  id: string;
  status: string;
  counts: { total: number | null; done: number; failed: number };
}

async function batchOf(url: string, id: string): Promise<BatchView> {
  return (await (await fetch(`${url}/v1/batches/${id}`)).json()) as BatchView;
}

describe("batch durability on the embedded store", () => {
  it("resumes after SIGKILL at ~50% with every record once, in order", async () => {
    const root = mkdtempSync(join(tmpdir(), "infergate-batch-kill-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    const { input } = await referenceLogits([1]);
    await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, input);
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  mlp:
    versions: { "1": { backend: local, model: mlp, version: "1" } }
jobs:
  dir: ${join(root, "jobs")}
  dataDir: ${dataDir}
  batch: { chunkRecords: 256, rowsPerCall: 64, inFlightPerTarget: 1 }
`);
    gateway = await startGatewayProcess(configPath);
    const res = await fetch(`${gateway.url}/v1/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mlp",
        input: { path: "in.jsonl" },
        output: { path: "out.jsonl" },
      }),
    });
    const { id } = (await res.json()) as BatchView;
    let seen: BatchView;
    do {
      await new Promise((r) => setTimeout(r, 20));
      seen = await batchOf(gateway.url, id);
    } while (seen.counts.done < RECORDS * 0.4 && seen.status === "running");
    await gateway.kill();
    expect(seen.status).toBe("running");
    expect(seen.counts.done).toBeLessThan(RECORDS);

    gateway = await startGatewayProcess(configPath);
    const until = Date.now() + 90_000;
    let done: BatchView;
    do {
      await new Promise((r) => setTimeout(r, 100));
      done = await batchOf(gateway.url, id);
    } while (!["succeeded", "failed"].includes(done.status) && Date.now() < until);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });

    const lines = readFileSync(join(dataDir, "out.jsonl"), "utf8").trim().split("\n");
    const good = Array.from({ length: RECORDS }, (_, i) => i + 1).filter((l) => !BAD_LINES.has(l));
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(
      good.map((l) => `r${l}`),
    );
    // Spot-check values across the kill point against onnxruntime run directly.
    const sample = [good[0], good[Math.floor(good.length / 2)], good[good.length - 1]] as number[];
    const { logits } = await referenceLogits(sample);
    sample.forEach((line, s) => {
      const record = JSON.parse(lines[good.indexOf(line)] as string) as {
        outputs: Record<string, number[][]>;
      };
      const row = Object.values(record.outputs)[0]?.[0] ?? [];
      expect(row[0]).toBeCloseTo((logits[s] as Float32Array)[0] as number, 4);
    });
    const errors = readFileSync(join(dataDir, "out.jsonl.errors.jsonl"), "utf8").trim().split("\n");
    expect(errors.map((e) => (JSON.parse(e) as { line: number }).line)).toEqual([
      ...BAD_LINES.keys(),
    ]);
  }, 120_000);
});
