/**
 * Chaos (docs/resilience.md "Concurrency limit and load shedding"): 2000 concurrent requests
 * against a target limited to 16 concurrent calls (and a queue of 100). Memory stays bounded, the
 * excess gets OVERLOADED with Retry-After at once, and every admitted request succeeds.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, startRig } from "./harness.js";

const LIMIT = 16;
const QUEUE = 100;
let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    ([grpc]) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton: { type: triton, grpc: "${grpc}" }
defaults:
  timeoutMs: 10000
  concurrency: { maxInFlight: ${LIMIT}, maxQueue: ${QUEUE} }
models:
  iris:
    versions: { "1": { backend: triton } }
`,
    { connections: 2000 },
  );
});
afterAll(() => rig.close());

describe("load shedding", () => {
  it("admits limit + queue, sheds the rest with OVERLOADED and Retry-After, and keeps memory bounded", async () => {
    const emulator = rig.emulators[0]!;
    emulator.setMode({ kind: "ok", delayMs: 50 });
    // Warm the connections so the burst arrives together.
    await Promise.all(Array.from({ length: 50 }, () => rig.predict()));
    emulator.calls.length = 0;
    global.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const outcomes = await Promise.all(Array.from({ length: 2000 }, () => rig.predict()));
    const heapAfter = process.memoryUsage().heapUsed;

    const ok = outcomes.filter((o) => o.status === 200);
    const shed = outcomes.filter((o) => o.status === 503);
    expect(ok.length + shed.length).toBe(2000);
    expect(
      shed.every(
        (o) => o.code === "OVERLOADED" && o.retryAfter !== null && Number(o.retryAfter) >= 1,
      ),
    ).toBe(true);
    expect(shed.length).toBeGreaterThan(1000);
    expect(ok.length).toBeGreaterThanOrEqual(LIMIT + QUEUE);
    // The backend never saw more than the limit at once: with a 50 ms service time, calls arrive
    // in waves of at most LIMIT.
    const arrivals = emulator.calls.map((c) => c.at).sort((a, b) => a - b);
    for (let i = LIMIT; i < arrivals.length; i++) {
      expect(arrivals[i]! - arrivals[i - LIMIT]!).toBeGreaterThanOrEqual(40);
    }
    expect(emulator.calls.length).toBe(ok.length);
    // Shed requests are answered at once, not after waiting.
    expect(Math.min(...shed.map((o) => o.ms))).toBeLessThan(1000);
    // Bounded: 2000 requests in flight do not grow the (shared) heap by more than ~100 MB.
    expect(heapAfter - heapBefore).toBeLessThan(100 * 1024 * 1024);
  });
});
