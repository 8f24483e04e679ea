/**
 * Run-time weights shared through a real redis-server: each "replica" is a WeightsSync over its
 * own config snapshot, as in a gateway process.
 */
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { skipWithoutRedis, startRedis, type TestRedis } from "../../test/support/redis.js";
import { configSchema, type GatewayConfig } from "../config/schema.js";
import { BackendUnavailableError } from "../errors.js";
import { createLogger } from "../logger.js";
import type { SplitEntry } from "./split.js";
import { checkTraffic, TrafficInvalidError } from "./versions.js";
import { WeightsSync, type WeightsTarget } from "./weights-sync.js";

/** A snapshot's run-time splits, checked like the gateway's resolver checks them. */
class Snapshot implements WeightsTarget {
  readonly overrides = new Map<string, readonly SplitEntry[]>();
  constructor(readonly config: GatewayConfig) {}
  setTraffic(model: string, entries: readonly SplitEntry[]): void {
    const modelConfig = this.config.models[model];
    if (modelConfig === undefined) throw new Error(`no model ${model}`);
    this.overrides.set(model, checkTraffic(model, modelConfig, entries));
  }
  clearTraffic(model: string): void {
    this.overrides.delete(model);
  }
  routes() {
    const models: Record<string, { traffic?: { source: string } }> = {};
    for (const model of Object.keys(this.config.models)) {
      models[model] = this.overrides.has(model) ? { traffic: { source: "runtime" } } : {};
    }
    return { models };
  }
}

interface Replica {
  sync: WeightsSync;
  snapshot: Snapshot;
  /** A reload to `config`, carrying splits as carry-weights.ts does (unchanged block only). */
  reload(config: GatewayConfig): void;
}

const skip = skipWithoutRedis();
let redis: TestRedis | undefined;
let prefix = 0;
const replicas: Replica[] = [];
const logger = createLogger("silent");

beforeAll(async () => {
  if (!skip) redis = await startRedis();
});
afterEach(async () => {
  for (const r of replicas.splice(0)) await r.sync.close();
});
afterAll(async () => {
  await redis?.stop();
});

function gatewayConfig(keyPrefix: string, traffic?: SplitEntry[]): GatewayConfig {
  return configSchema.parse({
    redis: { url: redis?.url, keyPrefix },
    backends: { b: { type: "onnx", modelDir: "/nonexistent" } },
    models: {
      m: {
        versions: { "1": { backend: "b", model: "m" }, "2": { backend: "b", model: "m" } },
        ...(traffic === undefined ? {} : { traffic }),
      },
    },
  });
}

async function replica(config: GatewayConfig): Promise<Replica> {
  const r: Replica = {
    snapshot: new Snapshot(config),
    sync: new WeightsSync({ current: () => r.snapshot, logger }),
    reload(next) {
      const old = r.snapshot;
      r.snapshot = new Snapshot(next);
      for (const [model, weights] of old.overrides) {
        const same =
          JSON.stringify(old.config.models[model]?.traffic) ===
          JSON.stringify(next.models[model]?.traffic);
        if (same) r.snapshot.setTraffic(model, weights);
      }
      r.sync.reloaded(r.snapshot);
    },
  };
  r.sync.sync(config);
  replicas.push(r);
  await r.sync.ready(5000);
  return r;
}

function freshPrefix(): string {
  prefix += 1;
  return `weights-test-${process.pid}-${prefix}:`;
}

const TEN_NINETY = [
  { version: "1", weight: 10 },
  { version: "2", weight: 90 },
];

describe.skipIf(skip)("run-time weights shared through Redis", () => {
  it("applies a split set on one replica on the other, and on a replica started later", async () => {
    const config = gatewayConfig(freshPrefix());
    const [a, b] = [await replica(config), await replica(config)];
    await a.sync.set("m", TEN_NINETY);
    expect(a.snapshot.overrides.get("m")).toEqual(TEN_NINETY);
    await vi.waitFor(() => expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY), 5000);

    const c = await replica(config);
    expect(c.snapshot.overrides.get("m")).toEqual(TEN_NINETY);
  });

  it("refuses a bad split before storing it", async () => {
    const config = gatewayConfig(freshPrefix());
    const a = await replica(config);
    await expect(a.sync.set("m", [{ version: "9", weight: 1 }])).rejects.toBeInstanceOf(
      TrafficInvalidError,
    );
    const client = new Redis(redis?.url ?? "");
    try {
      expect(await client.hgetall(`${config.redis?.keyPrefix}weights`)).toEqual({});
    } finally {
      client.disconnect();
    }
  });

  it("leaves every replica on the split Redis holds when two set at once", async () => {
    const config = gatewayConfig(freshPrefix());
    const [a, b] = [await replica(config), await replica(config)];
    const other = [
      { version: "1", weight: 70 },
      { version: "2", weight: 30 },
    ];
    await Promise.all([a.sync.set("m", TEN_NINETY), b.sync.set("m", other)]);
    const client = new Redis(redis?.url ?? "");
    try {
      const raw = await client.hget(`${config.redis?.keyPrefix}weights`, "m");
      const stored = (JSON.parse(raw ?? "{}") as { weights: SplitEntry[] }).weights;
      await vi.waitFor(() => {
        expect(a.snapshot.overrides.get("m")).toEqual(stored);
        expect(b.snapshot.overrides.get("m")).toEqual(stored);
      }, 5000);
    } finally {
      client.disconnect();
    }
  });

  it("ignores a split set against another traffic block; a reload changing the block clears it everywhere", async () => {
    const keyPrefix = freshPrefix();
    const fifty = [
      { version: "1", weight: 50 },
      { version: "2", weight: 50 },
    ];
    const before = gatewayConfig(keyPrefix);
    const after = gatewayConfig(keyPrefix, fifty);
    const [a, b] = [await replica(before), await replica(before)];
    const newer = await replica(after);
    await a.sync.set("m", TEN_NINETY);
    await vi.waitFor(() => expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY), 5000);
    // Set against no `traffic` block: the replica whose file has one keeps its own split.
    expect(newer.snapshot.overrides.has("m")).toBe(false);

    // A reload with an unchanged block keeps the split.
    b.reload(gatewayConfig(keyPrefix));
    expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY);
    // A reload that changes the block drops it here, and from Redis: A drops it too.
    b.reload(after);
    expect(b.snapshot.overrides.has("m")).toBe(false);
    await vi.waitFor(() => expect(a.snapshot.overrides.has("m")).toBe(false), 5000);
    // Going back to the old block later does not bring the cleared split back.
    b.reload(before);
    const late = await replica(before);
    expect(late.snapshot.overrides.has("m")).toBe(false);
    expect(b.snapshot.overrides.has("m")).toBe(false);
  });

  it("changes nothing while Redis is down (503), and follows Redis again once it is back", async () => {
    const config = gatewayConfig(freshPrefix());
    const [a, b] = [await replica(config), await replica(config)];
    await a.sync.set("m", TEN_NINETY);
    await vi.waitFor(() => expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY), 5000);
    await redis?.kill();
    try {
      const refused = a.sync.set("m", [
        { version: "1", weight: 1 },
        { version: "2", weight: 1 },
      ]);
      await expect(refused).rejects.toBeInstanceOf(BackendUnavailableError);
      // Requests keep the split in force while Redis is down.
      expect(a.snapshot.overrides.get("m")).toEqual(TEN_NINETY);
      expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY);
    } finally {
      await redis?.restart();
    }
    // The restarted Redis is empty: every replica, re-reading on reconnect, goes back to the file.
    await vi.waitFor(() => {
      expect(a.snapshot.overrides.has("m")).toBe(false);
      expect(b.snapshot.overrides.has("m")).toBe(false);
    }, 10_000);
    await vi.waitFor(() => a.sync.set("m", TEN_NINETY), 10_000);
    await vi.waitFor(() => expect(b.snapshot.overrides.get("m")).toEqual(TEN_NINETY), 5000);
  });
});
