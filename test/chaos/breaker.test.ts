/**
 * Chaos (docs/resilience.md "Circuit breaker"): a primary answering 503 to every call. After the
 * volume threshold it sees no calls until resetTimeout, then exactly one probe; clients get
 * fallback answers meanwhile.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, MODELS_DIR, startRig } from "./harness.js";

const VOLUME = 10;
const RESET_MS = 1000;
let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    ([grpc]) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
  local: { type: onnx, modelDir: ${MODELS_DIR} }
defaults:
  timeoutMs: 1000
  breaker: { volumeThreshold: ${VOLUME}, errorThresholdPercentage: 50, resetTimeoutMs: ${RESET_MS}, rollingWindowMs: 10000 }
models:
  iris:
    versions: { "1": { backend: triton } }
    fallback: [{ backend: local }]
`,
  );
});
afterAll(() => rig.close());

describe("a primary that answers 503 to everything", () => {
  it("is cut off after the volume threshold, probed once per resetTimeout, and clients get the fallback", async () => {
    const emulator = rig.emulators[0]!;
    emulator.setMode({ kind: "unavailable" });
    const start = Date.now();
    const outcomes = [];
    // 20 ms apart for 2.5 s: two and a half reset periods.
    while (Date.now() - start < 2.5 * RESET_MS) {
      outcomes.push(await rig.predict());
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(outcomes.filter((o) => o.status !== 200)).toEqual([]);
    expect(outcomes.every((o) => o.fallback && o.backend === "local")).toBe(true);

    const calls = emulator.calls.map((c) => c.at);
    expect(calls.length).toBeGreaterThanOrEqual(VOLUME);
    const opened = calls[VOLUME - 1]!;
    const callsBetween = (from: number, to: number) =>
      calls.filter((t) => t > from && t < to).length;
    // Silence until the reset timeout...
    expect(callsBetween(opened, opened + RESET_MS - 50)).toBe(0);
    // ...then exactly one probe per reset period (each fails and re-opens the breaker).
    const probe1 = calls[VOLUME]!;
    expect(probe1 - opened).toBeGreaterThanOrEqual(RESET_MS - 50);
    expect(callsBetween(opened, probe1 + RESET_MS - 50)).toBe(1);
    const breakers = (await (await fetch(`${rig.gateway.url}/admin/breakers`)).json()) as {
      breakers: Array<{ model: string; slot: string; state: string }>;
    };
    expect(breakers.breakers.find((b) => b.slot === "1")?.state).toMatch(/open|halfOpen/);
    // The reset timer may have made it half-open after the last request: one more request is the
    // probe, which fails and opens it again for a whole reset period.
    expect((await rig.predict()).status).toBe(200);
    const ready = (await (await fetch(`${rig.gateway.url}/readyz`)).json()) as {
      reasons: string[];
    };
    expect(ready.reasons.some((r) => r.startsWith('breaker open: model "iris" 1'))).toBe(true);
    expect(await (await fetch(`${rig.gateway.url}/metrics`)).text()).toMatch(
      /infergate_breaker_state\{model="iris",version="1",backend="triton"\} [12]/,
    );
  });
});
