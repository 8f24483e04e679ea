/** The BullMQ job store on a real redis-server against the job-store conformance suite. */
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobsSchema } from "../../src/jobs/config.js";
import type { Delivery } from "../../src/jobs/delivery.js";
import { deliveryIdOf } from "../../src/jobs/redis-outbox.js";
import { RedisJobRecords } from "../../src/jobs/redis-records.js";
import { RedisJobStore } from "../../src/jobs/redis-store.js";
import { finishedRecord } from "../../src/jobs/transitions.js";
import type { JobOutcome, JobRecord } from "../../src/jobs/types.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { describeStoreConformance, record } from "./conformance.js";

const skip = skipWithoutRedis();
let redis: TestRedis | undefined;

describe.skipIf(skip)("redis job store", () => {
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  describeStoreConformance("redis", (space, hooks) => {
    if (redis === undefined) throw new Error("redis did not start");
    return RedisJobStore.open({
      url: redis.url,
      keyPrefix: `t:${space}:`,
      ...hooks,
      logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  });

  it("warns at start when the jobs Redis may evict keys", async () => {
    if (redis === undefined) throw new Error("redis did not start");
    const admin = new Redis(redis.url);
    await admin.config("SET", "maxmemory-policy", "allkeys-lru");
    const warnings: string[] = [];
    const store = await RedisJobStore.open({
      url: redis.url,
      keyPrefix: "t:evict:",
      config: jobsSchema.parse({}),
      onChange: () => undefined,
      webhooks: {
        send: async () => "delivered",
        policy: { maxAttempts: 1, retryBaseMs: 1, concurrency: 1, leaseMs: 1000 },
        onOutcome: () => undefined,
      },
      onError: () => undefined,
      logger: {
        info: () => undefined,
        warn: (_o, msg) => warnings.push(msg ?? ""),
        error: () => undefined,
      },
    });
    try {
      expect(warnings.join("\n")).toMatch(/noeviction/);
    } finally {
      await store.close(0);
      await admin.config("SET", "maxmemory-policy", "noeviction");
      admin.disconnect();
    }
  });

  describe("a replica that dies between recording a job's end and queueing its webhook", () => {
    const TTL_MS = 60_000;
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

    /** A store whose webhook receiver records what it gets, and the raw records beside it. */
    async function open(space: string) {
      if (redis === undefined) throw new Error("redis did not start");
      const deliveries: Delivery[] = [];
      const store = await RedisJobStore.open({
        url: redis.url,
        keyPrefix: `t:${space}:`,
        config: jobsSchema.parse({ lockDurationMs: 1000 }),
        onChange: () => undefined,
        webhooks: {
          send: async (d) => {
            deliveries.push(d);
            return "delivered";
          },
          policy: { maxAttempts: 3, retryBaseMs: 10, concurrency: 2, leaseMs: 5000 },
          onOutcome: () => undefined,
        },
        onError: () => undefined,
        logger: quiet,
      });
      const records = new RedisJobRecords(redis.url, `t:${space}:`, TTL_MS);
      return { store, records, deliveries };
    }

    /** Queues the job's run once more, as BullMQ does when it hands a stalled run over. */
    async function runAgain(space: string, id: string): Promise<void> {
      if (redis === undefined) throw new Error("redis did not start");
      const queue = new Queue("async", {
        connection: { url: redis.url },
        prefix: `t:${space}:bull`,
      });
      await queue.add("run", { id }, { jobId: `${id}-again` });
      await queue.close();
    }

    async function until(check: () => boolean): Promise<void> {
      for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(check()).toBe(true);
    }

    it("sends the finished job's event once, when its run is taken over", async () => {
      const space = `died-${Date.now()}`;
      const { store, records, deliveries } = await open(space);
      try {
        const job = record({ webhook: { url: "http://127.0.0.1:9/hook" } });
        await store.add(job, 100);
        // What the replica that died recorded: the job succeeded; its webhook never got queued.
        const done = finishedRecord(job, "succeeded", Date.now(), TTL_MS, {
          kind: "succeeded",
          result: '{"ok":1}',
          version: "1",
        });
        expect((await records.transition(done, ["queued"])).ok).toBe(true);
        let runs = 0;
        store.start(async (): Promise<JobOutcome> => {
          runs += 1;
          return { kind: "succeeded", result: "{}", version: "1" };
        }, 1);
        await until(() => deliveries.length === 1);
        expect(runs).toBe(0);
        expect(deliveries[0]?.id).toBe(deliveryIdOf(job.id));
        expect(JSON.parse(deliveries[0]?.payload ?? "{}")).toMatchObject({
          type: "async.succeeded",
          data: { id: job.id },
        });
        // Run again later (another take-over): the event is queued again, which is a no-op.
        await runAgain(space, job.id);
        await new Promise((r) => setTimeout(r, 500));
        expect(runs).toBe(0);
        expect(deliveries).toHaveLength(1);
      } finally {
        await store.close(0);
        records.disconnect();
      }
    });

    it("sends the cancel event when the cancelling replica died before queueing it", async () => {
      const { store, records, deliveries } = await open(`cancel-${Date.now()}`);
      try {
        const job = record({ webhook: { url: "http://127.0.0.1:9/hook" } });
        await store.add(job, 100);
        let release: (o: JobOutcome) => void = () => undefined;
        let running: JobRecord | undefined;
        store.start(
          (j) =>
            new Promise<JobOutcome>((resolve) => {
              running = j;
              release = resolve;
            }),
          1,
        );
        await until(() => running !== undefined);
        // The other replica recorded the cancel, then died: no cancel message, no webhook.
        const cancelled = finishedRecord(running as JobRecord, "cancelled", Date.now(), TTL_MS);
        expect((await records.transition(cancelled, ["running"])).ok).toBe(true);
        release({ kind: "succeeded", result: "{}", version: "1" });
        await until(() => deliveries.length === 1);
        expect(JSON.parse(deliveries[0]?.payload ?? "{}")).toMatchObject({
          type: "async.cancelled",
          data: { id: job.id },
        });
        expect((await store.get(job.id, ""))?.status).toBe("cancelled");
      } finally {
        await store.close(0);
        records.disconnect();
      }
    });
  });
});
