/**
 * Traffic management end to end (docs/traffic.md) through a real gateway: weighted splits, sticky
 * users, overrides, GET /admin/routes, run-time weights until the next reload, and
 * `infergate explain`. Both iris versions serve the same ONNX model; answers say the version in
 * `x-infergate-version`.
 */
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MODELS_DIR,
  postJson,
  startTestGateway,
  type TestGateway,
  writeConfig,
} from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../..");
const CLI = resolve(ROOT, "dist/cli.js");

const CONFIG = `server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
backends:
  local:
    type: onnx
    modelDir: ${MODELS_DIR}
models:
  iris:
    versions:
      "1": { backend: local, model: iris, version: "1" }
      "2": { backend: local, model: iris, version: "1" }
    labels: { stable: "1", canary: "2" }
    default: "1"
    traffic:
      - { version: "1", weight: 90 }
      - { version: "2", weight: 10 }
    sticky: { header: x-user-id }
    breaker: { volumeThreshold: 1000 }
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(CONFIG);
});
afterAll(async () => {
  await gw.stop();
});

/** The version that answered one unversioned predict. */
async function versionOf(headers: Record<string, string> = {}, path = "/v1/models/iris/predict") {
  const res = await postJson(`${gw.url}${path}`, { inputs: [[5.1, 3.5, 1.4, 0.2]] }, headers);
  expect(res.status).toBe(200);
  return res.headers.get("x-infergate-version");
}

/** Versions answering `n` requests, `concurrency` at a time. */
async function versions(n: number, headers: (i: number) => Record<string, string> = () => ({})) {
  const out: Array<string | null> = [];
  const concurrency = 32;
  for (let start = 0; start < n; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - start) }, (_, j) =>
      versionOf(headers(start + j)),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

const post = (path: string, body: unknown) => postJson(`${gw.url}${path}`, body);

/** Reloads `text` as the gateway's config file. */
async function reloadWith(text: string): Promise<void> {
  writeFileSync(gw.configPath, text);
  expect((await post("/admin/reload", {})).status).toBe(200);
}

/**
 * Drops run-time weights: they survive a reload that leaves the traffic block unchanged, so the
 * block is changed once and restored.
 */
async function restoreFileWeights(): Promise<void> {
  await reloadWith(CONFIG.replace("weight: 90", "weight: 91"));
  await reloadWith(CONFIG);
}

describe("weighted split of unversioned requests", () => {
  it("sends about 10% of 2000 requests to the canary on 90/10", async () => {
    const seen = await versions(2000);
    const canary = seen.filter((v) => v === "2").length;
    expect(seen.filter((v) => v !== "1" && v !== "2")).toEqual([]);
    // 3 percentage points is about 4.5 standard deviations at n = 2000.
    expect(canary).toBeGreaterThan(140);
    expect(canary).toBeLessThan(260);
  });

  it("keeps a user on one version with the sticky header, on both fronts", async () => {
    for (const user of ["alice", "bob", "carol", "dave"]) {
      const first = await versionOf({ "x-user-id": user });
      for (let i = 0; i < 10; i++) expect(await versionOf({ "x-user-id": user })).toBe(first);
      const v2 = await postJson(
        `${gw.url}/v2/models/iris/infer`,
        {
          inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [5, 3, 1, 0] }],
        },
        { "x-user-id": user },
      );
      expect(v2.status).toBe(200);
      expect((v2.body as { model_version: string }).model_version).toBe(first);
    }
  });

  it("lets an explicit version, a label or the x-infergate-version header override the split", async () => {
    await post("/admin/models/iris/traffic", { traffic: [{ version: "1", weight: 1 }] });
    for (let i = 0; i < 5; i++) {
      expect(await versionOf({}, "/v1/models/iris/versions/2/predict")).toBe("2");
      expect(await versionOf({}, "/v1/models/iris/versions/canary/predict")).toBe("2");
      expect(await versionOf({ "x-infergate-version": "canary" })).toBe("2");
      expect(await versionOf({ "x-infergate-version": "2", "x-user-id": "alice" })).toBe("2");
    }
    await restoreFileWeights();
  });
});

describe("routing admin", () => {
  it("shows the routing table at GET /admin/routes", async () => {
    const res = await fetch(`${gw.url}/admin/routes`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { models: Record<string, unknown> };
    expect(body.models.iris).toMatchObject({
      versions: {
        "1": { backend: "local", model: "iris", version: "1", breaker: "closed" },
        "2": { backend: "local", model: "iris", version: "1", breaker: "closed" },
      },
      labels: { stable: "1", canary: "2" },
      default: "1",
      sticky: { header: "x-user-id" },
      traffic: {
        source: "config",
        weights: [
          { version: "1", weight: 90 },
          { version: "2", weight: 10 },
        ],
      },
      fallback: [],
    });
  });

  it("applies POSTed weights at once; a reload keeps them until the file's traffic block changes", async () => {
    const set = await post("/admin/models/iris/traffic", {
      traffic: [
        { version: "1", weight: 0 },
        { version: "2", weight: 100 },
      ],
    });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({
      traffic: {
        source: "runtime",
        weights: [
          { version: "1", weight: 0 },
          { version: "2", weight: 100 },
        ],
      },
    });
    const all = await versions(
      100,
      (i): Record<string, string> => (i % 2 === 0 ? { "x-user-id": `u${i}` } : {}),
    );
    expect(all.every((v) => v === "2")).toBe(true);

    const trafficNow = async () =>
      (
        (await (await fetch(`${gw.url}/admin/routes`)).json()) as {
          models: { iris: { traffic: unknown } };
        }
      ).models.iris.traffic;
    // The same traffic block: the operator's weights stay.
    await reloadWith(CONFIG);
    expect(await trafficNow()).toEqual({
      source: "runtime",
      weights: [
        { version: "1", weight: 0 },
        { version: "2", weight: 100 },
      ],
    });
    // A changed block is the file's new word.
    await restoreFileWeights();
    expect(await trafficNow()).toEqual({
      source: "config",
      weights: [
        { version: "1", weight: 90 },
        { version: "2", weight: 10 },
      ],
    });
    const after = await versions(200);
    expect(after.filter((v) => v === "1").length).toBeGreaterThan(150);
  });

  it("rejects a bad split with 400 and path lines, keeping the weights", async () => {
    const res = await post("/admin/models/iris/traffic", {
      traffic: [
        { version: "1", weight: 10 },
        { version: "3", weight: 5 },
        { version: "1", weight: 1 },
      ],
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: {
        code: "INVALID_REQUEST",
        message: "invalid traffic split",
        details: [
          'traffic[1].version: unknown version "3"',
          'traffic[2].version: version "1" already appears in traffic[0]',
        ],
      },
    });
    const zero = await post("/admin/models/iris/traffic", {
      traffic: [{ version: "2", weight: 0 }],
    });
    expect(zero.status).toBe(400);
    expect(JSON.stringify(zero.body)).toContain("all weights are 0");
    const missing = await post("/admin/models/nope/traffic", {
      traffic: [{ version: "1", weight: 1 }],
    });
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: "MODEL_NOT_FOUND" } });
    const routes = (await (await fetch(`${gw.url}/admin/routes`)).json()) as {
      models: { iris: { traffic: { source: string } } };
    };
    expect(routes.models.iris.traffic.source).toBe("config");
  });
});

describe("infergate explain", () => {
  // Asynchronous on purpose: the gateway of the tests above runs in this process, and a blocked
  // event loop lets it close the test client's idle keep-alive socket under its feet.
  const explain = (...args: string[]) => runCli(["explain", "--config", configPath, ...args]);
  let configPath = "";
  beforeAll(() => {
    configPath = writeConfig(CONFIG);
  });

  it("explains a label in the x-infergate-version header", async () => {
    expect(await explain("--model", "iris", "--header", "x-infergate-version=canary")).toEqual({
      code: 0,
      out:
        "model iris\n" +
        "x-infergate-version header names label canary -> version 2\n" +
        "version 2 -> target local/iris/1\n",
    });
  });

  it("explains a sticky user, matching what the gateway does", async () => {
    const run = await explain("--model", "iris", "--header", "X-User-Id=alice");
    expect(run.code).toBe(0);
    const match =
      /sticky header x-user-id=alice -> version (\d) by rendezvous hashing over 90\/10/.exec(
        run.out,
      );
    expect(match).not.toBeNull();
    expect(await versionOf({ "x-user-id": "alice" })).toBe(match?.[1]);
  });

  it("explains a weighted random split and an explicit version", async () => {
    expect((await explain("--model", "iris")).out).toBe(
      "model iris\n" +
        "weighted random over 90/10 (versions 1/2) (no sticky header x-user-id on the request)\n" +
        "version 1 (90%) -> target local/iris/1\n" +
        "version 2 (10%) -> target local/iris/1\n",
    );
    expect((await explain("--model", "iris", "--version", "stable")).out).toContain(
      "requested label stable -> version 1",
    );
  });

  it("exits 1 for an unknown model or a bad config", async () => {
    expect(await explain("--model", "nope")).toEqual({
      code: 1,
      out: 'MODEL_NOT_FOUND: model "nope" not found\n',
    });
    const bad = writeConfig(
      CONFIG.replace('{ version: "2", weight: 10 }', '{ version: "7", weight: 10 }'),
    );
    const run = await runCli(["explain", "--config", bad, "--model", "iris"]);
    expect(run.code).toBe(1);
    expect(run.out).toContain('models.iris.traffic[1].version: unknown version "7"');
  });
});

/** Runs the CLI without blocking this process; its stdout and stderr, joined, and its exit code. */
function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args]);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out: stdout + stderr }));
  });
}
