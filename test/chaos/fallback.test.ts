/**
 * Chaos (docs/resilience.md "Fallback"): the primary is killed mid-load at 200 requests/second with
 * the in-process ONNX copy as fallback — no request fails, none hangs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, MODELS_DIR, openLoop, startRig } from "./harness.js";

let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    ([grpc]) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
  local: { type: onnx, modelDir: ${MODELS_DIR} }
defaults:
  timeoutMs: 1000
  retry: { attempts: 2, backoffMs: 10 }
  breaker: { volumeThreshold: 10, resetTimeoutMs: 1000 }
models:
  iris:
    versions: { "1": { backend: triton } }
    fallback: [{ backend: local }]
`,
  );
});
afterAll(() => rig.close());

describe("primary killed mid-load", () => {
  it("answers every request at 200 rps, from the fallback once the primary is gone", async () => {
    const outcomes = await openLoop(() => rig.predict(), 200, 3, [
      { afterMs: 1000, run: () => rig.emulators[0]?.kill() },
    ]);
    expect(outcomes).toHaveLength(600);
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    // No hangs. A request stuck on the dead primary would end at the 1 s deadline as a 504, which
    // the status check above catches; this catches one that outlives its deadline. The client's
    // clock runs in this busy test process too, so it allows twice the deadline.
    expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(2000);
    const fromFallback = outcomes.filter((o) => o.fallback);
    expect(fromFallback.length).toBeGreaterThan(300);
    expect(fromFallback.every((o) => o.backend === "local")).toBe(true);
    // Before the kill the primary answered (how many depends on how closely the load generator
    // kept its schedule on a busy machine, so only a floor is asserted).
    expect(outcomes.filter((o) => !o.fallback && o.backend === "triton").length).toBeGreaterThan(
      100,
    );
  });
});
