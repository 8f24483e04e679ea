/**
 * The response cache's Redis tier against a real redis-server (test/support/redis.ts): shared
 * hits between cache instances (as between gateway processes), TTLs in Redis, and Redis dying
 * and coming back under load.
 */
import type { Redis } from "ioredis";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeAnswer } from "../../src/cache/codec.js";
import { cacheKey } from "../../src/cache/key.js";
import {
  type CacheTier,
  type LookupResult,
  ResponseCache,
  type ResponseCacheOptions,
} from "../../src/cache/response-cache.js";
import { answerOf, countingBackend, input, redisSuite, request } from "../support/cache-calls.js";
import { skipWithoutRedis, type TestRedis } from "../support/redis.js";

const NAMESPACE = "m|1|b";
/** Set, so that no warning about a derived key joins the warnings the tests count. */
const HMAC_KEY = "redis-test-hmac-key";
const backend = () => countingBackend(1000);

/** A cache with its lookups and warnings recorded. */
function instrumented(url: string, keyPrefix: string, extra: Partial<ResponseCacheOptions> = {}) {
  const lookups: Array<[CacheTier, LookupResult]> = [];
  const warnings: string[] = [];
  const cache = new ResponseCache({
    maxBytes: 1 << 20,
    // Generous: a busy CI machine must not turn a hit into a bypass here.
    redis: { url, keyPrefix, commandTimeoutMs: 2000, cacheHmacKey: HMAC_KEY },
    onLookup: (tier, result) => lookups.push([tier, result]),
    logger: { warn: (_obj, msg) => warnings.push(msg ?? "") },
    ...extra,
  });
  return { cache, lookups, warnings };
}

const count = (lookups: Array<[CacheTier, LookupResult]>, tier: CacheTier, result: LookupResult) =>
  lookups.filter(([t, r]) => t === tier && r === result).length;

/** Polls `check` every 50 ms, at most `attempts` times; true once it holds. */
async function eventually(check: () => Promise<boolean>, attempts = 200): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

/** Waits until the cache's Redis connection is up (a lookup reaches Redis). */
async function connected(cache: ResponseCache, lookups: Array<[CacheTier, LookupResult]>) {
  const infer = cache.policy({ namespace: "probe", ttlSeconds: 60 })(backend().next);
  let probe = 1_000_000;
  return eventually(async () => {
    const before = lookups.length;
    await infer(request(probe++));
    return lookups.slice(before).some(([t, r]) => t === "redis" && r !== "bypass");
  });
}

describe.skipIf(skipWithoutRedis())("ResponseCache with a real Redis", () => {
  const suite = redisSuite();
  let prefixSeq = 0;
  const prefix = () => `test${prefixSeq++}:`;
  const track = <T extends { cache: ResponseCache }>(x: T): T => {
    suite.track(x.cache);
    return x;
  };
  let redis: TestRedis;
  let raw: Redis;
  beforeAll(() => {
    redis = suite.redis();
    raw = suite.raw();
  });

  it("shares a hit between two cache instances (two gateway processes)", async () => {
    const keyPrefix = prefix();
    const a = track(instrumented(redis.url, keyPrefix));
    const b = track(instrumented(redis.url, keyPrefix));
    expect(await connected(a.cache, a.lookups)).toBe(true);
    expect(await connected(b.cache, b.lookups)).toBe(true);
    a.lookups.length = 0;
    b.lookups.length = 0;
    const backendA = backend();
    const backendB = backend();
    const inferA = a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backendA.next);
    const inferB = b.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backendB.next);

    const miss = await inferA(request(7));
    expect(miss.cache).toBe("miss");
    await a.cache.settled();

    const hit = await inferB(request(7));
    expect(hit).toMatchObject({ cache: "hit", modelVersion: "1" });
    expect(answerOf(hit)).toBe(1007);
    expect(backendB.state.calls).toBe(0);
    expect(b.lookups).toEqual([
      ["memory", "miss"],
      ["redis", "hit"],
    ]);
    // The Redis hit was copied into B's memory.
    expect((await inferB(request(7))).cache).toBe("hit");
    expect(b.lookups.at(-1)).toEqual(["memory", "hit"]);
    expect(a.lookups).toEqual([
      ["memory", "miss"],
      ["redis", "miss"],
    ]);

    // Stored under the documented key, as the documented binary value.
    const key = `${keyPrefix}${cacheKey(NAMESPACE, undefined, [input(7)])}`;
    const stored = await raw.getBuffer(key);
    expect(stored).not.toBeNull();
    // The value is the codec's bytes followed by their 32-byte HMAC tag (value-mac.ts).
    expect(answerOf(decodeAnswer((stored ?? Buffer.alloc(0)).subarray(0, -32)))).toBe(1007);
  });

  it("stores with the target's TTL, and Redis expires it", async () => {
    const keyPrefix = prefix();
    const a = track(instrumented(redis.url, keyPrefix));
    expect(await connected(a.cache, a.lookups)).toBe(true);
    const infer = a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 30 })(backend().next);
    await infer(request(1));
    await a.cache.settled();
    const pttl = await raw.pttl(`${keyPrefix}${cacheKey(NAMESPACE, undefined, [input(1)])}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(30_000);

    const short = a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 0.2 })(backend().next);
    await short(request(2));
    await a.cache.settled();
    const key2 = `${keyPrefix}${cacheKey(NAMESPACE, undefined, [input(2)])}`;
    expect(await raw.exists(key2)).toBe(1);
    expect(await eventually(async () => (await raw.exists(key2)) === 0)).toBe(true);
  });

  it("keeps a Redis hit in memory no longer than Redis keeps it", async () => {
    const keyPrefix = prefix();
    // Not 0: lru-cache takes a start time of 0 for "no TTL".
    let now = 1_000;
    const a = track(instrumented(redis.url, keyPrefix));
    const b = track(instrumented(redis.url, keyPrefix, { now: () => now }));
    expect(await connected(a.cache, a.lookups)).toBe(true);
    expect(await connected(b.cache, b.lookups)).toBe(true);
    await a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backend().next)(request(3));
    await a.cache.settled();
    const key = `${keyPrefix}${cacheKey(NAMESPACE, undefined, [input(3)])}`;
    await raw.pexpire(key, 5_000);

    const backendB = backend();
    const inferB = b.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backendB.next);
    expect((await inferB(request(3))).cache).toBe("hit");
    await raw.del(key);
    now += 4_000;
    expect((await inferB(request(3))).cache).toBe("hit");
    now += 1_001;
    expect((await inferB(request(3))).cache).toBe("miss");
    expect(backendB.state.calls).toBe(1);
  });

  it("answers every request while Redis dies mid-load, then reconnects by itself", async () => {
    const keyPrefix = prefix();
    const a = track(instrumented(redis.url, keyPrefix));
    const b = track(instrumented(redis.url, keyPrefix));
    expect(await connected(a.cache, a.lookups)).toBe(true);
    expect(await connected(b.cache, b.lookups)).toBe(true);
    const backendA = backend();
    const inferA = a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backendA.next);

    // 20 concurrent clients, 30 requests each over 200 distinct inputs; Redis dies part way.
    let sent = 0;
    let killed: Promise<void> | undefined;
    const client = async () => {
      const answers: number[] = [];
      for (let i = 0; i < 30; i++) {
        const value = sent++ % 200;
        if (sent === 200) killed = redis.kill();
        const result = await inferA(request(value));
        answers.push((answerOf(result) ?? 0) - value);
      }
      return answers;
    };
    const settled = await Promise.allSettled(Array.from({ length: 20 }, client));
    await killed;
    expect(settled.filter((s) => s.status === "rejected")).toEqual([]);
    for (const s of settled)
      if (s.status === "fulfilled") expect(new Set(s.value)).toEqual(new Set([1000]));

    // Requests after the kill all bypass Redis and go to the backend.
    const before = backendA.state.calls;
    const afterKill = a.lookups.length;
    for (let v = 500; v < 520; v++) expect(answerOf(await inferA(request(v)))).toBe(v + 1000);
    expect(backendA.state.calls).toBe(before + 20);
    expect(count(a.lookups.slice(afterKill), "redis", "bypass")).toBe(20);
    expect(a.warnings).toHaveLength(1);

    await redis.restart();
    // Hits again through Redis, with the same cache objects: A stores, B finds it.
    let value = 10_000;
    const inferB = b.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backend().next);
    const shared = await eventually(async () => {
      value++;
      await inferA(request(value));
      await a.cache.settled();
      return (await inferB(request(value))).cache === "hit";
    });
    expect(shared).toBe(true);
    // One warning per outage, however many failed requests and reconnect attempts it had.
    expect(a.warnings).toHaveLength(1);

    // A second outage is a second warning.
    await redis.kill();
    for (let v = 600; v < 610; v++) expect(answerOf(await inferA(request(v)))).toBe(v + 1000);
    expect(a.warnings).toHaveLength(2);
    await redis.restart();
  });

  it("bypasses a hung Redis after the command timeout and uses it again when it answers", async () => {
    const keyPrefix = prefix();
    const a = track(
      instrumented(redis.url, keyPrefix, {
        redis: { url: redis.url, keyPrefix, commandTimeoutMs: 100, cacheHmacKey: HMAC_KEY },
      }),
    );
    expect(await connected(a.cache, a.lookups)).toBe(true);
    const backendA = backend();
    const infer = a.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backendA.next);
    redis.pause();
    try {
      const from = a.lookups.length;
      for (let v = 0; v < 10; v++) expect(answerOf(await infer(request(v)))).toBe(v + 1000);
      expect(backendA.state.calls).toBe(10);
      expect(count(a.lookups.slice(from), "redis", "bypass")).toBe(10);
      expect(a.warnings).toHaveLength(1);
    } finally {
      redis.resume();
    }
    // Back in use once it answers: a stored answer is found by a fresh instance.
    const b = track(instrumented(redis.url, keyPrefix));
    const inferB = b.cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(backend().next);
    let value = 20_000;
    const back = await eventually(async () => {
      value++;
      await infer(request(value));
      await a.cache.settled();
      return (await inferB(request(value))).cache === "hit";
    });
    expect(back).toBe(true);
  });
});

describe("ResponseCache with Redis unreachable from the start", () => {
  it("bypasses Redis, answers every request and warns once", async () => {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    const lookups: Array<[CacheTier, LookupResult]> = [];
    const warnings: string[] = [];
    const cache = new ResponseCache({
      maxBytes: 1 << 20,
      redis: { url: "redis://127.0.0.1:1", keyPrefix: "x:", cacheHmacKey: HMAC_KEY },
      onLookup: (tier, result) => lookups.push([tier, result]),
      logger: { warn: (_obj, msg) => warnings.push(msg ?? "") },
    });
    try {
      const { state, next } = backend();
      const infer = cache.policy({ namespace: NAMESPACE, ttlSeconds: 60 })(next);
      // Wait until the first connection attempt has failed, so the warning has had its chance.
      expect(await eventually(async () => warnings.length > 0)).toBe(true);
      for (let v = 0; v < 50; v++) expect(answerOf(await infer(request(v)))).toBe(v + 1000);
      // Memory still works.
      expect((await infer(request(0))).cache).toBe("hit");
      expect(state.calls).toBe(50);
      expect(count(lookups, "redis", "bypass")).toBe(50);
      expect(count(lookups, "redis", "hit") + count(lookups, "redis", "miss")).toBe(0);
      expect(warnings).toHaveLength(1);
    } finally {
      await cache.close();
    }
  });
});
