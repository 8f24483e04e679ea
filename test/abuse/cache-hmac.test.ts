/**
 * Cache values in Redis are authenticated (src/cache/value-mac.ts), against a real redis-server:
 * a value edited in Redis, or written by a gateway with another key, is a miss (the backend is
 * called and the answer is the backend's), and gateways sharing a key still share hits.
 */
import type { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { encodeAnswer } from "../../src/cache/codec.js";
import { cacheKey } from "../../src/cache/key.js";
import { ResponseCache } from "../../src/cache/response-cache.js";
import { TAG_BYTES } from "../../src/cache/value-mac.js";
import { answerOf, countingBackend, input, redisSuite, request } from "../support/cache-calls.js";
import { skipWithoutRedis, type TestRedis } from "../support/redis.js";

const NAMESPACE = "m|1|b";
const KEY = "shared-secret-of-the-fleet";
/** Answers label x + 1 (0 -> 1), counting calls. */
const backend = () => countingBackend(1, "label", undefined);
const labelOf = answerOf;

describe.skipIf(skipWithoutRedis())("Redis cache values are authenticated", () => {
  const suite = redisSuite();
  let redis: TestRedis;
  let raw: Redis;
  beforeAll(() => {
    redis = suite.redis();
    raw = suite.raw();
  });
  let seq = 0;

  /**
   * A cache (one gateway process) with the given HMAC key, once its Redis connection is up (it
   * bypasses Redis until then); its warnings and Redis lookups are recorded.
   */
  async function fleet(keyPrefix: string, cacheHmacKey: string | undefined, env = {}) {
    const warnings: string[] = [];
    const redisLookups: string[] = [];
    const cache = new ResponseCache({
      maxBytes: 1 << 20,
      redis: { url: redis.url, keyPrefix, commandTimeoutMs: 2000, cacheHmacKey },
      env,
      onLookup: (tier, result) => {
        if (tier === "redis") redisLookups.push(result);
      },
      logger: { warn: (_obj, msg) => warnings.push(msg ?? "") },
    });
    suite.track(cache);
    const b = backend();
    const infer = cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(b.next);
    const probe = cache.policy({ namespace: "probe", ttlSeconds: 60 })(backend().next);
    for (let i = 0; i < 200; i++) {
      await probe(request(probeValue++));
      if (redisLookups.at(-1) !== "bypass") break;
      await sleep(25);
    }
    expect(redisLookups.at(-1)).not.toBe("bypass");
    return { cache, infer, calls: b.state, warnings };
  }
  let probeValue = 1_000_000;

  /** Stores the answer for `value` through `g` and waits until it is in Redis. */
  async function storeThrough(g: Awaited<ReturnType<typeof fleet>>, value: number) {
    expect(labelOf(await g.infer(request(value)))).toBe(value + 1);
    await g.cache.settled();
  }

  it("answers from the backend when a value was edited in Redis, and logs it once per key", async () => {
    const keyPrefix = `hmac${seq++}:`;
    const a = await fleet(keyPrefix, KEY);
    const b = await fleet(keyPrefix, KEY);
    await storeThrough(a, 0);
    const redisKey = `${keyPrefix}${cacheKey(NAMESPACE, undefined, [input(0)])}`;
    const stored = await raw.getBuffer(redisKey);
    expect(stored).not.toBeNull();

    // The attack: another answer (label 2) with the original tag, and one with no tag at all.
    const forged = encodeAnswer({
      outputs: [{ name: "label", datatype: "INT32", shape: [1], data: Int32Array.of(2) }],
      modelVersion: undefined,
    });
    const tag = (stored ?? Buffer.alloc(0)).subarray(-TAG_BYTES);
    await raw.set(redisKey, Buffer.concat([forged, tag]), "PX", 60_000);
    const first = await b.infer(request(0));
    expect(first.cache).toBe("miss");
    expect(labelOf(first)).toBe(1);
    const afterFirst = b.calls.calls;

    await raw.set(redisKey, forged, "PX", 60_000);
    // Another process (no memory copy yet): it must not take the untagged value either.
    const c = await fleet(keyPrefix, KEY);
    const second = await c.infer(request(0));
    expect(labelOf(second)).toBe(1);
    expect(c.calls.calls).toBe(1);
    expect(afterFirst).toBe(1);
    expect(b.cache.rejectedRedisValues).toBe(1);
    expect(c.cache.rejectedRedisValues).toBe(1);
    expect(b.warnings.filter((w) => w.includes("HMAC"))).toHaveLength(1);
  });

  it("shares hits between gateways with the same key, not with another key", async () => {
    const keyPrefix = `hmac${seq++}:`;
    const a = await fleet(keyPrefix, KEY);
    await storeThrough(a, 5);
    const same = await fleet(keyPrefix, KEY);
    const hit = await same.infer(request(5));
    expect(hit.cache).toBe("hit");
    expect(labelOf(hit)).toBe(6);
    expect(same.calls.calls).toBe(0);

    const other = await fleet(keyPrefix, "another-fleet-key-000");
    const miss = await other.infer(request(5));
    expect(miss.cache).toBe("miss");
    expect(other.calls.calls).toBe(1);
    expect(other.cache.rejectedRedisValues).toBe(1);
  });

  it("without a configured key, shares through the derived key and warns it is not secret", async () => {
    const keyPrefix = `hmac${seq++}:`;
    const a = await fleet(keyPrefix, undefined);
    expect(a.warnings.some((w) => w.includes("not secret"))).toBe(true);
    await storeThrough(a, 9);
    const b = await fleet(keyPrefix, undefined);
    expect((await b.infer(request(9))).cache).toBe("hit");
    // The environment variable is a key like the config's: no warning, and no sharing with the
    // derived key.
    const env = await fleet(keyPrefix, undefined, {
      INFERGATE_CACHE_HMAC_KEY: "env-key-0123456789",
    });
    expect(env.warnings.some((w) => w.includes("not secret"))).toBe(false);
    expect((await env.infer(request(9))).cache).toBe("miss");
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
