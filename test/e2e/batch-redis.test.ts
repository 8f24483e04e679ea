/**
 * Batches split into shards on Redis, run by two gateway processes sharing one redis-server and
 * one data directory: the replica running a shard is killed with SIGKILL mid-batch; the other
 * takes its shards over from their checkpoints (BullMQ's stalled check) and the finalizer
 * concatenates the parts: every record exactly once, in input order, bad records by line.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BAD_LINES, writeMlpJsonl } from "../jobs/batch-data.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { MODELS_DIR, writeConfig } from "./harness.js";

const RECORDS = 20_000;
let redis: TestRedis | undefined;
const gateways: GatewayProcess[] = [];

afterAll(async () => {
  for (const g of gateways) await g.kill();
  await redis?.stop();
});

interface BatchView {
  id: string;
  status: string;
  counts: { total: number | null; done: number; failed: number };
}

async function batchOf(url: string, id: string): Promise<BatchView> {
  return (await (await fetch(`${url}/v1/batches/${id}`)).json()) as BatchView;
}

describe.skipIf(skipWithoutRedis())("batches on Redis across two replicas", () => {
  it("finishes every record once, in order, after the replica running a shard is killed", async () => {
    redis = await startRedis();
    const root = mkdtempSync(join(tmpdir(), "infergate-batch-redis-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, "input");
    const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  mlp:
    versions: { "1": { backend: local, model: mlp, version: "1" } }
jobs:
  lockDurationMs: 1000
  redis: { url: "${redis.url}" }
  dataDir: ${dataDir}
  batch: { chunkRecords: 256, rowsPerCall: 64, inFlightPerTarget: 1, concurrency: 1, shardRecords: 2500 }
`);
    const [a, b] = await Promise.all([
      startGatewayProcess(configPath),
      startGatewayProcess(configPath),
    ]);
    gateways.push(a, b);
    const res = await fetch(`${a.url}/v1/batches`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "mlp",
        input: { path: "in.jsonl" },
        output: { path: "out.jsonl" },
      }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as BatchView;
    let seen: BatchView;
    do {
      await new Promise((r) => setTimeout(r, 20));
      seen = await batchOf(b.url, id);
    } while (seen.counts.done < RECORDS * 0.4 && seen.status !== "succeeded");
    const shardsOf = (g: GatewayProcess) => g.logs.filter((l) => l.msg === "batch shard running");
    expect(shardsOf(a).length).toBeGreaterThan(0);
    expect(shardsOf(b).length).toBeGreaterThan(0);
    // A runs a shard right now (concurrency 1, and the batch is half done): kill it mid-shard.
    await a.kill();
    expect(seen.status).toBe("running");

    const until = Date.now() + 90_000;
    let done: BatchView;
    do {
      await new Promise((r) => setTimeout(r, 100));
      done = await batchOf(b.url, id);
    } while (!["succeeded", "failed"].includes(done.status) && Date.now() < until);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });
    // B resumed at least one shard A had started, from its checkpoint, not from its first record.
    const resumed = shardsOf(b).filter((l) => Number(l.from) > 0);
    expect(resumed.length).toBeGreaterThan(0);

    const ids = readFileSync(join(dataDir, "out.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => (JSON.parse(l) as { id: string }).id);
    const good = Array.from({ length: RECORDS }, (_, i) => i + 1).filter((l) => !BAD_LINES.has(l));
    expect(ids).toEqual(good.map((l) => `r${l}`));
    const errors = readFileSync(join(dataDir, "out.jsonl.errors.jsonl"), "utf8").trim().split("\n");
    expect(errors.map((e) => (JSON.parse(e) as { line: number }).line)).toEqual([
      ...BAD_LINES.keys(),
    ]);
    expect(readdirSync(dataDir).sort()).toEqual([
      ".batches",
      "in.jsonl",
      "out.jsonl",
      "out.jsonl.errors.jsonl",
    ]);
  }, 120_000);
});
