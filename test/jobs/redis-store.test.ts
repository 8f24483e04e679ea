/** The BullMQ job store on a real redis-server against the job-store conformance suite. */
import { afterAll, beforeAll, describe } from "vitest";
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
});
