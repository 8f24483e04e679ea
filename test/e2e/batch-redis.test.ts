/**
 * Batches split into shards on Redis, run by two gateway processes sharing one redis-server and
 * one data directory: the replica running a shard is killed with SIGKILL mid-batch; the other
 * takes its shards over from their checkpoints (BullMQ's stalled check) and the finalizer
 * concatenates the parts: every record exactly once, in input order, bad records by line.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { writeMlpJsonl } from "../jobs/batch-data.js";
import { expectExactlyOnce, mlpConfig, postBatch, waitForBatch } from "../jobs/batch-helpers.js";
import { type GatewayProcess, startGatewayProcess } from "../jobs/process.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { startTestGateway, writeConfig } from "./harness.js";

const RECORDS = 20_000;
let redis: TestRedis | undefined;
const gateways: GatewayProcess[] = [];

afterAll(async () => {
  for (const g of gateways) await g.kill();
  await redis?.stop();
});

describe.skipIf(skipWithoutRedis())("batches on Redis across two replicas", () => {
  it("finishes every record once, in order, after the replica running a shard is killed", async () => {
    redis = await startRedis();
    const root = mkdtempSync(join(tmpdir(), "infergate-batch-redis-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    await writeMlpJsonl(join(dataDir, "in.jsonl"), RECORDS, "input");
    const configPath = writeConfig(
      mlpConfig(`lockDurationMs: 1000
        redis: { url: "${redis.url}" }
        dataDir: ${dataDir}
        batch: { chunkRecords: 256, rowsPerCall: 64, inFlightPerTarget: 1, concurrency: 1, shardRecords: 2500 }`),
    );
    const [a, b] = await Promise.all([
      startGatewayProcess(configPath),
      startGatewayProcess(configPath),
    ]);
    gateways.push(a, b);
    const res = await postBatch(a.url, {
      model: "mlp",
      input: { path: "in.jsonl" },
      output: { path: "out.jsonl" },
    });
    expect(res.status).toBe(202);
    const seen = await waitForBatch(
      b.url,
      res.body.id,
      (batch) => batch.counts.done >= RECORDS * 0.4 || batch.status === "succeeded",
      60_000,
      20,
    );
    const shardsOf = (g: GatewayProcess) => g.logs.filter((l) => l.msg === "batch shard running");
    expect(shardsOf(a).length).toBeGreaterThan(0);
    expect(shardsOf(b).length).toBeGreaterThan(0);
    // Kill A mid-shard: once the shard it runs now has a checkpoint past its first chunk and far
    // from its end (A may be between shards when the batch reaches 40%, so this is waited for).
    await waitForMidShard(redis.url, res.body.id, () => shardsOf(a).at(-1));
    await a.kill();
    expect(seen.status).toBe("running");

    const done = await waitForBatch(b.url, res.body.id);
    expect(done.status).toBe("succeeded");
    expect(done.counts).toEqual({ total: RECORDS, done: RECORDS, failed: 3 });
    // B resumed at least one shard A had started, from its checkpoint, not from its first record.
    expect(shardsOf(b).filter((l) => Number(l.from) > 0).length).toBeGreaterThan(0);
    expectExactlyOnce(dataDir, "out.jsonl", RECORDS);
    // The parts are gone once concatenated.
    expect(readdirSync(join(dataDir, ".batches"))).toEqual([]);
  }, 120_000);
});

/** Waits until A's latest shard is checkpointed between its second chunk and 1,000 from its end. */
async function waitForMidShard(
  url: string,
  batchId: string,
  latestShard: () => Record<string, unknown> | undefined,
): Promise<void> {
  const client = new Redis(url);
  try {
    for (let i = 0; i < 3000; i++) {
      const text = await client.get(
        `infergate:batches:${batchId}:shard:${String(latestShard()?.shard)}`,
      );
      const done =
        text === null ? 0 : (JSON.parse(text) as { counts: { done: number } }).counts.done;
      if (done >= 512 && done <= 1500) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error("replica A never ran a shard past its first checkpoint");
  } finally {
    client.disconnect();
  }
}

describe.skipIf(skipWithoutRedis())("schedules on Redis across two replicas", () => {
  it("runs each occurrence once, whichever replica takes it", async () => {
    const server = await startRedis();
    const root = mkdtempSync(join(tmpdir(), "infergate-batch-sched-"));
    const dataDir = join(root, "files");
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(
      join(dataDir, "one.jsonl"),
      `{"inputs":{"input":[[${new Array(256).fill(0).join(",")}]]}}\n`,
    );
    const config = mlpConfig(`redis: { url: "${server.url}" }
      dataDir: ${dataDir}
      schedules:
        - { name: tick, cron: "* * * * * *", model: mlp, input: { path: one.jsonl }, output: { path: "ticks/{datetime}.jsonl" } }`);
    const [a, b] = await Promise.all([startTestGateway(config), startTestGateway(config)]);
    try {
      await new Promise((r) => setTimeout(r, 4500));
      const listed = (await (await fetch(`${a.url}/v1/batches?limit=100`)).json()) as {
        data: Array<{ output: { path: string } }>;
      };
      const paths = listed.data.map((x) => x.output.path);
      // About one batch a second for 4.5 s; a second replica firing too would repeat a path.
      expect(paths.length).toBeGreaterThanOrEqual(2);
      expect(paths.length).toBeLessThanOrEqual(6);
      expect(new Set(paths).size).toBe(paths.length);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await server.stop();
    }
  }, 60_000);
});
