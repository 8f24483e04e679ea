/**
 * Versions that cannot take traffic get no split traffic and their share goes to the others
 * (docs/traffic.md "Splits and sticky users"): one whose breaker is open, and one whose backend
 * says it is not ready. Each case has its own model, so one rule cannot pass for the other: the
 * failing version's backend says it is ready (only its breaker can exclude it), and the unready
 * version has a breaker that cannot open.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";

let runner: ModelRunner;
let failing: EmulatorControl;
let healthy: EmulatorControl;
let gw: TestGateway;

beforeAll(async () => {
  runner = await ModelRunner.load(MODELS_DIR);
  failing = await startTritonEmulator({ runner, rest: false });
  healthy = await startTritonEmulator({ runner, rest: false });
  failing.setMode({ kind: "unavailable" }); // ModelReady still says ready; every infer is 503
  gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
  failing: { type: triton, grpc: "${failing.grpcAddress}" }
  healthy: { type: triton, grpc: "${healthy.grpcAddress}" }
models:
  shaky:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: failing, model: iris }
    traffic: [{ version: "1", weight: 50 }, { version: "2", weight: 50 }]
    retry: { attempts: 0 }
    breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 600000 }
  unready:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: healthy, model: not_loaded }
    traffic: [{ version: "1", weight: 50 }, { version: "2", weight: 50 }]
    breaker: { volumeThreshold: 1000000 }
`);
});
afterAll(async () => {
  await gw?.stop();
  await failing?.close();
  await healthy?.close();
  await runner?.close();
});

interface VersionRoutes {
  versions: Record<string, { breaker?: string; ready?: boolean }>;
}
async function routesOf(model: string): Promise<VersionRoutes> {
  const body = (await (await fetch(`${gw.url}/admin/routes`)).json()) as {
    models: Record<string, VersionRoutes>;
  };
  const routes = body.models[model];
  if (routes === undefined) throw new Error(`no routes for ${model}`);
  return routes;
}

/** The versions that answered `n` unversioned predicts (half of them with a sticky-less user id). */
async function answeredBy(model: string, n: number): Promise<Array<string | null>> {
  const out: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const res = await postJson(
      `${gw.url}/v1/models/${model}/predict`,
      { inputs: [[5.1, 3.5, 1.4, 0.2]] },
      i % 2 === 0 ? { "x-user-id": `u${i}` } : {},
    );
    expect(res.status).toBe(200);
    out.push(res.headers.get("x-infergate-version"));
  }
  return out;
}

describe("versions that cannot take traffic", () => {
  it("sends a version with an open breaker no split traffic; its share goes to the others", async () => {
    // Its backend says it is ready: only the breaker can take it out.
    await expect.poll(async () => (await routesOf("shaky")).versions["2"]?.ready).toBe(true);
    const pinned = () =>
      postJson(
        `${gw.url}/v1/models/shaky/predict`,
        { inputs: [[5.1, 3.5, 1.4, 0.2]] },
        { "x-infergate-version": "2" },
      );
    for (let i = 0; i < 3; i++) expect((await pinned()).status).toBe(503);
    expect((await routesOf("shaky")).versions["2"]).toMatchObject({ breaker: "open", ready: true });
    expect(new Set(await answeredBy("shaky", 40))).toEqual(new Set(["1"]));
  });

  it("sends a version its backend reports not ready no split traffic, and shows it in /admin/routes", async () => {
    await expect
      .poll(async () => (await routesOf("unready")).versions["2"]?.ready, { timeout: 5000 })
      .toBe(false);
    expect((await routesOf("unready")).versions["2"]?.breaker).toBe("closed");
    expect(new Set(await answeredBy("unready", 40))).toEqual(new Set(["1"]));
    // The version itself still answers a pinned request with the backend's own error.
    const pinned = await postJson(
      `${gw.url}/v1/models/unready/predict`,
      { inputs: [[5.1, 3.5, 1.4, 0.2]] },
      { "x-infergate-version": "2" },
    );
    expect(pinned.status).toBeGreaterThanOrEqual(400);
  });
});
