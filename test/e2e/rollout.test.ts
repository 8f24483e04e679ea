/**
 * Progressive rollout through a real gateway (short intervals): a healthy canary reaches 100%; a
 * canary that fails rolls back within one interval, with client errors limited to its share.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR, ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";
import { postJson, rolloutOf, startTestGateway, type TestGateway } from "./harness.js";

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Sends requests from `workers` loops until `until()` says stop; returns [ms since start, status, version]. */
async function load(gw: TestGateway, until: () => boolean, workers = 8) {
  const start = Date.now();
  const seen: Array<[number, number, string | null]> = [];
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (!until()) {
        const res = await postJson(`${gw.url}/v1/models/iris/predict`, {
          inputs: [[5.1, 3.5, 1.4, 0.2]],
        });
        seen.push([Date.now() - start, res.status, res.headers.get("x-infergate-version")]);
      }
    }),
  );
  return seen;
}

describe("progressive rollout", () => {
  it("walks a healthy canary up to 100%", async () => {
    const gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: local, model: iris }
    # Both arms are the same in-process model: latencies of ~1 ms jitter by more than 1.5x, so the
    # p99 rule (unit-tested on its own) gets room here; the error-rate rule stays strict.
    rollout: { from: "1", to: "2", steps: [10, 50, 100], intervalSeconds: 0.3, minRequests: 10, maxP99Ratio: 20 }
`);
    cleanup.push(() => gw.stop());
    expect(await rolloutOf(gw)).toMatchObject({ phase: "progressing", weight: 10 });
    let done = false;
    const deadline = Date.now() + 8000;
    const watcher = (async () => {
      while (!done && Date.now() < deadline) {
        if ((await rolloutOf(gw)).phase === "done") done = true;
        else await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const seen = await load(gw, () => done || Date.now() > deadline, 4);
    await watcher;
    const final = await rolloutOf(gw);
    expect(final, JSON.stringify(final)).toMatchObject({ phase: "done", weight: 100 });
    expect(seen.every(([, status]) => status === 200)).toBe(true);
    const after = await postJson(`${gw.url}/v1/models/iris/predict`, {
      inputs: [[5.1, 3.5, 1.4, 0.2]],
    });
    expect(after.headers.get("x-infergate-version")).toBe("2");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('infergate_rollout_weight{model="iris",version="2"} 100');
  });

  it("rolls a failing canary back within one interval, with errors limited to the canary's share", async () => {
    const runner = await ModelRunner.load(MODELS_DIR);
    const emulator: EmulatorControl = await startTritonEmulator({ runner });
    cleanup.push(
      () => runner.close(),
      () => emulator.close(),
    );
    emulator.setMode({ kind: "error" });
    const INTERVAL_MS = 1000;
    const gw = await startTestGateway(`server: { host: 127.0.0.1, port: 0 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
  triton: { type: triton, grpc: "${emulator.grpcAddress}" }
models:
  iris:
    versions:
      "1": { backend: local, model: iris }
      "2": { backend: triton, model: iris }
    rollout: { from: "1", to: "2", steps: [20, 50, 100], intervalSeconds: ${INTERVAL_MS / 1000}, minRequests: 20 }
`);
    cleanup.push(() => gw.stop());
    const started = Date.now();
    let rolledBackAt: number | undefined;
    const watcher = (async () => {
      while (rolledBackAt === undefined && Date.now() - started < 2.5 * INTERVAL_MS) {
        if ((await rolloutOf(gw)).phase === "rolledBack") rolledBackAt = Date.now() - started;
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const seen = await load(gw, () => Date.now() - started > 2.5 * INTERVAL_MS);
    await watcher;
    expect(rolledBackAt).toBeDefined();
    // Within one interval of the canary's first failure (measured from then, not from the start,
    // because a loaded machine may take a while to get the first requests through).
    const firstFailure = Math.min(...seen.filter(([, status]) => status !== 200).map(([at]) => at));
    expect((rolledBackAt ?? Number.POSITIVE_INFINITY) - firstFailure).toBeLessThanOrEqual(
      INTERVAL_MS + 100,
    );
    expect(await rolloutOf(gw)).toMatchObject({ phase: "rolledBack", weight: 0 });
    // Before the rollback only the canary's ~20% failed; after it, nothing did.
    const before = seen.filter(([at]) => at < (rolledBackAt ?? 0));
    const errorsBefore = before.filter(([, status]) => status !== 200).length;
    expect(errorsBefore / Math.max(1, before.length)).toBeLessThanOrEqual(0.35);
    expect(
      before
        .filter(([, status]) => status !== 200)
        .every(([, , version]) => version === null || version === "2"),
    ).toBe(true);
    const after = seen.filter(([at]) => at > (rolledBackAt ?? 0) + 50);
    expect(after.length).toBeGreaterThan(20);
    expect(after.filter(([, status]) => status !== 200)).toEqual([]);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('infergate_rollout_rollbacks_total{model="iris",version="2"} 1');
  });
});
