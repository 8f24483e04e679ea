/**
 * Rate limits end to end (docs/access.md "Rate limits"): 429 RATE_LIMITED with Retry-After and
 * the RateLimit-* headers per key and per model, RESOURCE_EXHAUSTED with the same values as gRPC
 * trailers, failed authentications limited per client address, and one key's limit held across
 * two gateway processes sharing a redis-server.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/ports.js";
import { startRedis, type TestRedis } from "../support/redis.js";
import { bearer, codeOf, irisAndOps, sha } from "./auth-support.js";
import { postJson, startTestGateway, type TestGateway, writeConfig } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

const CLI = resolve(import.meta.dirname, "../../dist/cli.js");
const SLOW_KEY = "slow-key-0123456789";
const FAST_KEY = "fast-key-0123456789";
const MID_KEY = "mid-key-0123456789";

const base = irisAndOps;

const row = { inputs: [[5, 3.5, 1.4, 0.2]] };
const OPS_ROW = { inputs: { a: [[1, 2, 3, 4]], b: [[1, 1, 1, 1]] } };

describe("rate limits in one gateway", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0, grpcPort: 0 }
${base(`auth:
  keys:
    - { id: slow, hash: "${sha(SLOW_KEY)}", rateLimit: { requestsPerSecond: 2 } }
    - { id: fast, hash: "${sha(FAST_KEY)}" }
    - { id: mid, hash: "${sha(MID_KEY)}", rateLimit: { requestsPerSecond: 50 } }
  failedAttempts: { requestsPerSecond: 1, burst: 3 }
rateLimits:
  models: { ops: { requestsPerSecond: 1 } }
`)}`);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("answers 429 RATE_LIMITED with Retry-After and RateLimit-* once a key's budget is spent", async () => {
    const url = `${gw.url}/v1/models/iris/predict`;
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await postJson(url, row, bearer(SLOW_KEY)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
    expect(answers[0]?.headers.get("ratelimit-limit")).toBe("2");
    expect(answers[0]?.headers.get("ratelimit-remaining")).toBe("1");
    const refused = answers[2];
    expect(codeOf(refused?.body)).toBe("RATE_LIMITED");
    expect(refused?.headers.get("ratelimit-limit")).toBe("2");
    expect(refused?.headers.get("ratelimit-remaining")).toBe("0");
    expect(refused?.headers.get("ratelimit-reset")).toBe("1");
    expect(refused?.headers.get("retry-after")).toBe("1");
  });

  it("answers a model's 429 with the model's RateLimit-* values, not the key's own", async () => {
    const url = `${gw.url}/v1/models/ops/predict`;
    const answers = [];
    for (let i = 0; i < 5 && answers.at(-1)?.status !== 429; i++) {
      answers.push(await postJson(url, OPS_ROW, bearer(MID_KEY)));
    }
    const refused = answers.at(-1);
    expect(refused?.status).toBe(429);
    expect(codeOf(refused?.body)).toBe("RATE_LIMITED");
    expect(refused?.headers.get("ratelimit-limit")).toBe("1");
    expect(refused?.headers.get("ratelimit-remaining")).toBe("0");
    // Answers the model let through carry the key's own budget.
    for (const ok of answers.slice(0, -1)) {
      expect(ok.status).toBe(200);
      expect(ok.headers.get("ratelimit-limit")).toBe("50");
    }
  });

  it("limits a model over every key, on gRPC with the values as trailers", async () => {
    const client = kserveClient(gw.grpcAddress);
    const infer = () =>
      client.call(
        "ModelInfer",
        {
          model_name: "ops",
          inputs: [{ name: "a", datatype: "FP32", shape: ["1"], contents: { fp32_contents: [1] } }],
        },
        bearer(FAST_KEY),
      );
    try {
      const errors: ServiceError[] = [];
      for (let i = 0; i < 3; i++) await infer().catch((err: ServiceError) => errors.push(err));
      const limited = errors.find((e) => e.code === status.RESOURCE_EXHAUSTED);
      expect(limited?.details).toContain('model "ops"');
      expect(limited?.metadata.get("ratelimit-limit")).toEqual(["1"]);
      expect(limited?.metadata.get("ratelimit-remaining")).toEqual(["0"]);
      expect(limited?.metadata.get("retry-after")).toEqual(["1"]);
    } finally {
      client.close();
    }
  });

  it("limits failed authentications per address, refusing even a good key while blocked", async () => {
    const url = `${gw.url}/v1/models/iris/predict`;
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await postJson(url, row, bearer("guess"))).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const good = await postJson(url, row, bearer(FAST_KEY));
    expect(good.status).toBe(429);
    expect(Number(good.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  });
});

describe("rate limits across two gateway processes", () => {
  const RATE = 40;
  let redis: TestRedis;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await redis?.stop();
  });

  it("holds one key's combined rate within 10% of its limit", async () => {
    const urls = await Promise.all(
      [0, 1].map(() => {
        const configPath = writeConfig(`server: { host: 127.0.0.1, port: 0 }
redis: { url: "${redis.url}" }
${base(`auth:
  keys:
    - { id: shared, hash: "${sha(SLOW_KEY)}", rateLimit: { requestsPerSecond: ${RATE} } }
`)}`);
        const child = spawn(process.execPath, [CLI, "serve", "--config", configPath], {
          stdio: ["ignore", "pipe", "inherit"],
        });
        children.push(child);
        return new Promise<string>((resolveUrl) => {
          createInterface({ input: child.stdout! }).on("line", (line) => {
            const e = JSON.parse(line) as { msg?: string; protocol?: string; port?: number };
            if (e.msg === "listening" && e.protocol === "http")
              resolveUrl(`http://127.0.0.1:${e.port}`);
          });
        });
      }),
    );
    // Each process connects to Redis in the background; until then it counts in memory. One
    // request each, then a pause longer than the one-second window, so counting starts afresh.
    for (const url of urls) await postJson(`${url}/v1/models/iris/predict`, row, bearer(SLOW_KEY));
    await new Promise((r) => setTimeout(r, 1100));
    // Fixed one-second windows starting at the first request: stopping just before the fourth
    // second ends gives exactly four windows.
    const started = Date.now();
    const stopAt = started + 3900;
    let ok = 0;
    let limited = 0;
    const worker = async (url: string) => {
      while (Date.now() < stopAt) {
        const res = await postJson(`${url}/v1/models/iris/predict`, row, bearer(SLOW_KEY));
        if (res.status === 200) ok += 1;
        else if (res.status === 429) limited += 1;
        else throw new Error(`unexpected ${res.status}`);
      }
    };
    await Promise.all(urls.flatMap((url) => [1, 2, 3, 4].map(() => worker(url))));
    const expected = RATE * 4;
    expect(limited).toBeGreaterThan(0);
    expect(Math.abs(ok - expected)).toBeLessThanOrEqual(expected * 0.1);
  });
});

describe("rate limits while Redis is unreachable", () => {
  it("keeps limiting in memory instead of failing requests", async () => {
    const port = await freePort();
    const gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
redis: { url: "redis://127.0.0.1:${port}" }
${base(`auth:
  keys:
    - { id: slow, hash: "${sha(SLOW_KEY)}", rateLimit: { requestsPerSecond: 2 } }
`)}`);
    try {
      const url = `${gw.url}/v1/models/iris/predict`;
      const statuses = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await postJson(url, row, bearer(SLOW_KEY))).status);
      expect(statuses).toEqual([200, 200, 429]);
    } finally {
      await gw.stop();
    }
  });
});
