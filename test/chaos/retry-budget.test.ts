/**
 * Chaos (docs/resilience.md "Retries and the retry budget"): a backend failing half its calls with
 * 3 retries allowed — its call rate stays within (1 + budgetPercent/100) × the client rate plus the
 * floor: no retry storm.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, openLoop, startRig } from "./harness.js";

const RATE = 100;
const SECONDS = 3;
const BUDGET = 20;
const FLOOR = 2;
let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    ([grpc]) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
defaults:
  timeoutMs: 1000
  retry: { attempts: 3, backoffMs: 1, budgetPercent: ${BUDGET}, minRetriesPerSecond: ${FLOOR} }
models:
  iris:
    versions: { "1": { backend: triton } }
`,
  );
});
afterAll(() => rig.close());

describe("retry budget against a half-failing backend", () => {
  it("keeps the backend's call rate within the budget", async () => {
    const emulator = rig.emulators[0]!;
    emulator.setMode({ kind: "ok", failEvery: 2 });
    const outcomes = await openLoop(() => rig.predict(), RATE, SECONDS);
    const clientRequests = outcomes.length;
    const backendCalls = emulator.calls.length;
    expect(clientRequests).toBe(RATE * SECONDS);
    expect(backendCalls).toBeLessThanOrEqual(
      (1 + BUDGET / 100) * clientRequests + FLOOR * (SECONDS + 10),
    );
    // Retries did happen and helped: more successes than the 50% a retry-free client would get.
    expect(backendCalls).toBeGreaterThan(clientRequests);
    const ok = outcomes.filter((o) => o.status === 200).length;
    expect(ok / clientRequests).toBeGreaterThan(0.55);
    expect(
      outcomes.filter((o) => o.status !== 200).every((o) => o.code === "BACKEND_UNAVAILABLE"),
    ).toBe(true);
  });
});
