/**
 * A progressive rollout shared between replicas through a real redis-server (docs/traffic.md
 * "Shared between replicas": with `redis` configured, the gateways take part in one rollout). Each
 * replica is a RolloutRegistry, as in a gateway process; traffic is recorded through the real
 * controllers. Every replica feeds a fixed number of requests per shared interval, chosen so that
 * no replica alone reaches `minRequests` while all together do: a rollout that advances proves the
 * judge merged everybody's numbers.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RolloutConfig } from "../../src/config/schema.js";
import { configSchema, type GatewayConfig } from "../../src/config/schema.js";
import { createLogger } from "../../src/logger.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { RolloutRegistry } from "../../src/routing/rollout/registry.js";
import { RolloutStore } from "../../src/routing/rollout/store.js";
import { skipWithoutRedis, startRedis, type TestRedis } from "../support/redis.js";

const POLL_MS = 25;
const STEPS = [10, 50, 100];
/** Requests each replica records per interval; the canary's share follows the weights. */
const PER_INTERVAL = 200;

function gatewayConfig(url: string, keyPrefix: string, overrides: Partial<RolloutConfig> = {}) {
  return configSchema.parse({
    redis: { url, keyPrefix },
    backends: { b: { type: "onnx", modelDir: "/nonexistent" } },
    models: {
      m: {
        versions: { "1": { backend: "b", model: "m" }, "2": { backend: "b", model: "m" } },
        rollout: {
          from: "1",
          to: "2",
          steps: STEPS,
          intervalSeconds: 0.5,
          // 10% of 200 = 20 canary requests per replica: two replicas together reach 30.
          minRequests: 30,
          maxP99Ratio: 3,
          ...overrides,
        },
      },
    },
  });
}

interface Replica {
  name: string;
  registry: RolloutRegistry;
  metrics: ReturnType<typeof createMetrics>;
  /** The last shared interval this replica fed; -1 before the first. */
  fed: number;
  /** Every 1 in `failEvery` canary requests fails on this replica (0: none). */
  failEvery: number;
}

const replicas: Replica[] = [];
const logger = createLogger("silent");

function replica(name: string, config: GatewayConfig, failEvery = 0): Replica {
  const metrics = createMetrics();
  const registry = new RolloutRegistry(metrics, logger, { replica: name, pollMs: POLL_MS });
  registry.sync(config);
  const r = { name, registry, metrics, fed: -1, failEvery };
  replicas.push(r);
  return r;
}

function controller(r: Replica) {
  const c = r.registry.get("m");
  if (c === undefined) throw new Error(`${r.name} has no rollout`);
  return c;
}

/** Once per shared interval, each replica records PER_INTERVAL requests split by its weights. */
function feed(rs: readonly Replica[]): void {
  for (const r of rs) {
    const c = controller(r);
    const shared = c.snapshot().shared;
    if (shared === undefined || shared.interval < 0 || shared.interval === r.fed) continue;
    r.fed = shared.interval;
    const canary = Math.round((PER_INTERVAL * c.weight) / 100);
    for (let i = 0; i < PER_INTERVAL - canary; i++) c.record("1", true, 5);
    for (let i = 1; i <= canary; i++) c.record("2", !(r.failEvery > 0 && i % r.failEvery === 0), 5);
  }
}

/** Feeds `rs` every 5 ms until `done()` holds; false after `ms`. */
async function drive(rs: readonly Replica[], done: () => boolean, ms = 20_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    feed(rs);
    if (done()) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return false;
}

async function rollbacks(r: Replica): Promise<number> {
  const metric = await r.metrics.rollbacks.get();
  return metric.values.reduce((sum, v) => sum + v.value, 0);
}

const skip = skipWithoutRedis();
let redis: TestRedis;
let prefixCounter = 0;
const freshPrefix = () => `t${process.pid}-${++prefixCounter}:`;

beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

describe.skipIf(skip)("a rollout shared through Redis", () => {
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.registry.close()));
  });

  it("advances on everybody's numbers together, in lockstep, with one judge", async () => {
    const config = gatewayConfig(redis.url, freshPrefix());
    const a = replica("a", config);
    const b = replica("b", config);
    const seen: Record<string, number[]> = { a: [], b: [] };
    let leadersAtOnce = 0;
    const finished = await drive([a, b], () => {
      for (const r of [a, b]) {
        const w = controller(r).weight;
        const list = seen[r.name] ?? [];
        if (list.at(-1) !== w) list.push(w);
      }
      const leaders = [a, b].filter((r) => controller(r).snapshot().shared?.leader === true);
      leadersAtOnce = Math.max(leadersAtOnce, leaders.length);
      return [a, b].every((r) => controller(r).phase === "done");
    });
    expect(finished).toBe(true);
    // 0 until a replica has the fleet's state, then every step in order.
    expect(seen.a).toEqual([0, ...STEPS]);
    expect(seen.b).toEqual([0, ...STEPS]);
    expect(leadersAtOnce).toBe(1);
    const last = controller(a).snapshot();
    expect(last.lastDecision).toMatch(/^done at 100%/);
    expect(controller(b).snapshot().lastDecision).toBe(last.lastDecision);
  });

  it("rolls every replica back when the canary fails on one, counted once", async () => {
    const config = gatewayConfig(redis.url, freshPrefix());
    const a = replica("a", config);
    // One in three of b's canary requests fails: 33% on b, about 17% over both replicas.
    const b = replica("b", config, 3);
    const finished = await drive([a, b], () =>
      [a, b].every((r) => controller(r).phase === "rolledBack"),
    );
    expect(finished).toBe(true);
    for (const r of [a, b]) expect(controller(r).weight).toBe(0);
    expect(controller(a).snapshot().lastDecision).toMatch(
      /^rolled back from 10%: canary error rate/,
    );
    expect((await rollbacks(a)) + (await rollbacks(b))).toBe(1);
  });

  it("a replica that starts late joins at the current step, not at the first", async () => {
    const config = gatewayConfig(redis.url, freshPrefix());
    const a = replica("a", config);
    const b = replica("b", config);
    expect(await drive([a, b], () => controller(a).weight === 50)).toBe(true);
    const c = replica("c", config);
    // Before its first poll it sends the canary nothing rather than guess the step.
    expect(controller(c).weight).toBe(0);
    expect(await drive([a, b], () => controller(c).weight >= 50, 5000)).toBe(true);
    expect(controller(c).snapshot().shared?.leader).toBe(false);
  });

  it("hands the judging on when the leader stops", async () => {
    const config = gatewayConfig(redis.url, freshPrefix(), { minRequests: 20 });
    const a = replica("a", config);
    expect(await drive([a], () => controller(a).snapshot().shared?.leader === true)).toBe(true);
    const b = replica("b", config);
    expect(await drive([a, b], () => controller(b).weight === 50)).toBe(true);
    await a.registry.close();
    replicas.splice(replicas.indexOf(a), 1);
    // b alone has 200 × 50% = 100 canary requests per interval: enough by itself.
    expect(await drive([b], () => controller(b).phase === "done")).toBe(true);
    expect(controller(b).snapshot().shared?.leader).toBe(false); // done: nothing left to judge
  });

  it("holds the weights while Redis is down and resumes from the replicas' step when it is back", async () => {
    const config = gatewayConfig(redis.url, freshPrefix(), { minRequests: 20 });
    const a = replica("a", config);
    const b = replica("b", config);
    expect(
      await drive([a, b], () => controller(a).weight === 50 && controller(b).weight === 50),
    ).toBe(true);
    await redis.kill();
    const held = await drive(
      [a, b],
      () => [a, b].every((r) => controller(r).snapshot().shared?.redis === "unavailable"),
      5000,
    );
    expect(held).toBe(true);
    // Two intervals without Redis: nobody advances on a partial view.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    for (const r of [a, b]) expect(controller(r).weight).toBe(50);
    await redis.restart(); // empty: the shared state is gone
    expect(await drive([a, b], () => [a, b].every((r) => controller(r).phase === "done"))).toBe(
      true,
    );
  });
});

describe.skipIf(skip)("a shared rollout that Redis forgets", () => {
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.registry.close()));
  });

  it("is refilled from the furthest replica, never set back by one that knows nothing yet", async () => {
    const config = gatewayConfig(redis.url, freshPrefix(), { minRequests: 20 });
    const a = replica("a", config);
    const b = replica("b", config);
    expect(await drive([a, b], () => [a, b].every((r) => controller(r).phase === "done"))).toBe(
      true,
    );
    await redis.kill();
    // Started while Redis is down: it knows nothing, and must not teach the fleet step 0.
    const d = replica("d", config);
    await redis.restart(); // empty
    let setBack = false;
    const joined = await drive(
      [a, b, d],
      () => {
        if ([a, b].some((r) => controller(r).phase !== "done" || controller(r).weight !== 100)) {
          setBack = true;
        }
        return controller(d).phase === "done";
      },
      10_000,
    );
    expect(joined).toBe(true);
    expect(setBack).toBe(false);
    expect(controller(d).weight).toBe(100);
  });

  it("publishes a replica's own rollback and counts it once", async () => {
    const config = gatewayConfig(redis.url, freshPrefix(), { minRequests: 10 });
    const a = replica("a", config);
    const b = replica("b", config);
    expect(await drive([a, b], () => controller(b).weight === 10)).toBe(true);
    // b alone sees its canary fail (20 of its 20 canary requests) and rolls back on its own numbers.
    for (let i = 0; i < 20; i++) controller(b).record("2", false, 5);
    expect(controller(b).phase).toBe("rolledBack");
    expect(await drive([a], () => controller(a).phase === "rolledBack", 5000)).toBe(true);
    expect((await rollbacks(a)) + (await rollbacks(b))).toBe(1);
  });
});

describe.skipIf(skip)("RolloutStore", () => {
  it("writes by compare-and-set on the interval number and keeps the lease exclusive", async () => {
    const store = new RolloutStore({ url: redis.url, keyPrefix: freshPrefix() });
    try {
      await waitConnected(store);
      const rollout = gatewayConfig(redis.url, "x:").models.m?.rollout;
      if (rollout === undefined) throw new Error("no rollout block");
      const key = store.keyOf("m", rollout);
      expect(key).toMatch(/rollout:m:[0-9a-f]{16}$/);
      expect(store.keyOf("m", { ...rollout, steps: [50, 100] })).not.toBe(key);
      const state = { phase: "progressing" as const, step: 0, since: 1 };
      expect(await store.read(key)).toBeNull();
      expect(await store.replace(key, null, { epoch: 0, intervalStart: 5, state })).toBe(true);
      expect(await store.replace(key, null, { epoch: 0, intervalStart: 6, state })).toBe(false);
      expect(await store.replace(key, 3, { epoch: 4, intervalStart: 6, state })).toBe(false);
      expect(
        await store.replace(key, 0, { epoch: 1, intervalStart: 7, state: { ...state, step: 1 } }),
      ).toBe(true);
      expect(await store.read(key)).toEqual({
        epoch: 1,
        intervalStart: 7,
        state: { ...state, step: 1 },
      });
      expect(await store.lease(key, "a", 1000)).toBe(true);
      expect(await store.lease(key, "b", 1000)).toBe(false);
      expect(await store.lease(key, "a", 1000)).toBe(true);
      await store.release(key, "b"); // not b's to give
      expect(await store.lease(key, "b", 1000)).toBe(false);
      await store.release(key, "a");
      expect(await store.lease(key, "b", 1000)).toBe(true);
    } finally {
      store.close();
    }
  });
});

async function waitConnected(store: RolloutStore): Promise<void> {
  for (let i = 0; i < 200 && !store.connected; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  if (!store.connected) throw new Error("the store did not connect");
}

describe.skipIf(skip)("an unreadable shared record", () => {
  afterEach(async () => {
    await Promise.all(replicas.splice(0).map((r) => r.registry.close()));
  });

  it("is replaced by the replicas' own state instead of blocking the rollout", async () => {
    const prefix = freshPrefix();
    const config = gatewayConfig(redis.url, prefix, { minRequests: 20 });
    const rollout = config.models.m?.rollout;
    if (rollout === undefined) throw new Error("no rollout block");
    const store = new RolloutStore({ url: redis.url, keyPrefix: prefix });
    try {
      await waitConnected(store);
      const key = store.keyOf("m", rollout);
      // As if an incompatible gateway had written it.
      const writer = new Redis(redis.url);
      await writer.hset(key, "epoch", "3", "record", "{not json");
      const a = replica("a", config);
      expect(await drive([a], () => controller(a).phase === "done")).toBe(true);
      expect((await store.read(key))?.state.phase).toBe("done");
      // A key of another type altogether (not a hash) is cleared too.
      const other = store.keyOf("m", { ...rollout, steps: [50, 100] });
      await writer.set(other, "not a hash");
      writer.disconnect();
      const b = replica(
        "b",
        gatewayConfig(redis.url, prefix, { minRequests: 20, steps: [50, 100] }),
      );
      expect(await drive([b], () => controller(b).phase === "done")).toBe(true);
      expect((await store.read(other))?.state.phase).toBe("done");
    } finally {
      store.close();
    }
  });
});
