/**
 * Scheduled batches on Redis (BullMQ job schedulers): each batch is named after the occurrence
 * it stands for, even when the replica's Redis connection is slow to open.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scheduleSchema } from "../../src/jobs/batch/config.js";
import { Scheduler } from "../../src/jobs/batch/schedules.js";
import type { BatchRecord, BatchSpec } from "../../src/jobs/batch/types.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";

let redis: TestRedis | undefined;
beforeAll(async () => {
  if (!skipWithoutRedis()) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/**
 * A loopback proxy to Redis that holds each new connection for `holdMs` before relaying it, as
 * a replica sees when it starts on a busy machine or far from its Redis.
 */
async function slowToConnect(
  port: number,
  holdMs: number,
): Promise<{ url: string; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.pause();
    setTimeout(() => {
      const upstream = connect(port, "127.0.0.1");
      sockets.add(upstream);
      client.pipe(upstream).pipe(client);
      client.resume();
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on("error", end).on("close", end);
      upstream.on("error", end).on("close", end);
    }, holdMs);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  const proxyPort = typeof address === "object" && address !== null ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** Records the batches a scheduler starts. */
function recordingBatches(specs: BatchSpec[]): { create(spec: BatchSpec): BatchRecord } {
  return {
    create(spec) {
      specs.push(spec);
      return {
        id: `batch_${specs.length}`,
        tenant: "",
        status: "queued",
        spec,
        counts: { total: 0, done: 0, failed: 0 },
        errorsPath: "",
        createdAt: Date.now(),
      };
    },
  };
}

describe.skipIf(skipWithoutRedis())("schedules on Redis", () => {
  it("names each batch after its occurrence when its Redis connection opens slowly", async () => {
    const schedule = scheduleSchema.parse({
      name: "even",
      cron: "*/2 * * * * *",
      timezone: "UTC",
      model: "m",
      input: { path: "in.jsonl" },
      output: { path: "out/{datetime}.jsonl" },
    });
    const specs: BatchSpec[] = [];
    const errors: unknown[] = [];
    // Each connection opens 1.3 s late: a date made of the first job's creation time plus its
    // delay (read before and after the connection opens) then lands on an odd second.
    const proxy = await slowToConnect((redis as TestRedis).port, 1300);
    const scheduler = new Scheduler([schedule], recordingBatches(specs), (e) => errors.push(e), {
      url: proxy.url,
      keyPrefix: "t:",
    });
    try {
      for (let i = 0; i < 200 && specs.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
      expect(errors).toEqual([]);
      const seconds = specs.map((s) => {
        const path = "path" in s.output ? s.output.path : "";
        return Number(/T\d{4}(\d{2})Z/.exec(path)?.[1]);
      });
      expect(seconds.length).toBeGreaterThanOrEqual(2);
      for (const second of seconds) expect(second % 2).toBe(0);
      expect(new Set(seconds).size).toBe(seconds.length);
    } finally {
      await scheduler.stop();
      proxy.close();
    }
  }, 20_000);
});
