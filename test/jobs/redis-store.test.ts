/** The BullMQ job store on a real redis-server against the job-store conformance suite. */
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobsSchema } from "../../src/jobs/config.js";
import { RedisJobStore } from "../../src/jobs/redis-store.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";
import { describeStoreConformance } from "./conformance.js";

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
});
