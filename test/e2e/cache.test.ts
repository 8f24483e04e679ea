/**
 * The response cache through the whole gateway: miss then hit, Cache-Control: no-cache, versions
 * never sharing answers, single flight, two gateway processes sharing hits through a real Redis,
 * and Redis killed mid-load without a failed request.
 */
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, startRig } from "../chaos/harness.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { postJson, writeConfig } from "./harness.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");
let redis: TestRedis;
let rig: ChaosRig;
const configFor = (
  grpc: string,
  redisUrl: string,
  port = 0,
) => `server: { host: 127.0.0.1, port: ${port} }
redis: { url: "${redisUrl}" }
backends:
  triton: { type: triton, grpc: "${grpc}" }
defaults:
  timeoutMs: 2000
  cache: { ttlSeconds: 60 }
models:
  iris:
    versions:
      "1": { backend: triton }
      "2": { backend: triton }
`;

beforeAll(async () => {
  redis = await startRedis();
  rig = await startRig(([grpc]) => configFor(grpc ?? "", redis.url));
});
afterAll(async () => {
  await rig?.close();
  await redis?.stop();
});

/** Keys in the test's Redis, read with a client of our own. */
async function redisKeys(): Promise<number> {
  const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await client.dbsize();
  } finally {
    client.disconnect();
  }
}

const row = (x: number) => ({ inputs: [[x, 3.5, 1.4, 0.2]] });
const predict = (body: unknown, version = "1", headers: Record<string, string> = {}) =>
  postJson(`${rig.gateway.url}/v1/models/iris/versions/${version}/predict`, body, headers);

describe("response cache", () => {
  it("answers a repeated request from the cache, skips the lookup on no-cache, and keeps versions apart", async () => {
    const calls = () => rig.emulators[0]!.calls.length;
    const before = calls();
    const first = await predict(row(5.0));
    expect(first.headers.get("x-infergate-cache")).toBe("miss");
    const second = await predict(row(5.0));
    expect(second.headers.get("x-infergate-cache")).toBe("hit");
    expect(second.body).toEqual(first.body);
    expect(calls()).toBe(before + 1);
    const fresh = await predict(row(5.0), "1", { "cache-control": "no-cache" });
    expect(fresh.headers.get("x-infergate-cache")).toBe("miss");
    expect(calls()).toBe(before + 2);
    const otherVersion = await predict(row(5.0), "2");
    expect(otherVersion.headers.get("x-infergate-cache")).toBe("miss");
    expect(calls()).toBe(before + 3);
  });

  it("makes one backend call for 100 concurrent identical misses", async () => {
    const before = rig.emulators[0]!.calls.length;
    rig.emulators[0]!.setMode({ kind: "ok", delayMs: 50 });
    try {
      const answers = await Promise.all(Array.from({ length: 100 }, () => predict(row(6.1))));
      expect(answers.every((a) => a.status === 200)).toBe(true);
      expect(rig.emulators[0]!.calls.length).toBe(before + 1);
    } finally {
      rig.emulators[0]!.setMode({ kind: "ok" });
    }
  });

  it("shares hits between two gateway processes through Redis", async () => {
    const configPath = writeConfig(configFor(rig.emulators[0]!.grpcAddress ?? "", redis.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, [CLI, "serve", "--config", configPath], {
        stdio: ["ignore", "pipe", "inherit"],
      }),
    );
    try {
      const urls = await Promise.all(
        children.map(
          (child) =>
            new Promise<string>((resolveUrl) => {
              createInterface({ input: child.stdout }).on("line", (line) => {
                const e = JSON.parse(line) as { msg?: string; protocol?: string; port?: number };
                if (e.msg === "listening" && e.protocol === "http")
                  resolveUrl(`http://127.0.0.1:${e.port}`);
              });
            }),
        ),
      );
      // Each process connects to Redis in the background and bypasses it until it is ready: wait
      // until each one has stored an answer of its own before the real check.
      let warm = 0;
      for (const url of urls) {
        const keys = await redisKeys();
        await expect
          .poll(
            async () => {
              // A row no other test uses, new on every attempt, so each one is a miss to store.
              await postJson(`${url}/v1/models/iris/predict`, row(9 + warm++ / 1000));
              return redisKeys();
            },
            { timeout: 5000 },
          )
          .toBeGreaterThan(keys);
      }
      const before = rig.emulators[0]!.calls.length;
      const keysBefore = await redisKeys();
      const a = await postJson(`${urls[0]}/v1/models/iris/predict`, row(7.3));
      expect(a.headers.get("x-infergate-cache")).toBe("miss");
      // The Redis store is written behind the answer: wait until it has landed.
      await expect.poll(redisKeys, { timeout: 3000 }).toBeGreaterThan(keysBefore);
      const b = await postJson(`${urls[1]}/v1/models/iris/predict`, row(7.3));
      expect(b.headers.get("x-infergate-cache")).toBe("hit");
      expect(b.body).toEqual(a.body);
      expect(rig.emulators[0]!.calls.length).toBe(before + 1);
    } finally {
      for (const c of children) c.kill("SIGKILL");
    }
  });

  it("loses no request when Redis is killed mid-load, and uses it again once it is back", async () => {
    let stop = false;
    const statuses: number[] = [];
    let i = 0;
    // A new row per request: each one misses the in-process tier and reaches Redis, so the
    // requests sent while it is down are Redis bypasses rather than in-process hits.
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const res = await predict(row(4 + i++ / 100_000));
        statuses.push(res.status);
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 500));
    await redis.restart();
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(load);
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const metrics = await (await fetch(`${rig.gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/infergate_cache_requests_total\{tier="redis",result="bypass"\} [1-9]/);
    // Back in use: a new answer is stored in the restarted Redis.
    const keys = await redisKeys();
    let j = 0;
    await expect
      .poll(
        async () => {
          await predict(row(5 + j++ / 100_000));
          return redisKeys();
        },
        { timeout: 5000 },
      )
      .toBeGreaterThan(keys);
  });
});
