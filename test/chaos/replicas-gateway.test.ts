/**
 * Chaos (docs/resilience.md "Replicas and outlier ejection"): two replicas behind the gateway, one
 * killed mid-load. At least 99.9% of requests succeed (the gateway's retries move the dead
 * replica's failures to the live one), and the dead replica is ejected after its consecutive
 * failures.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChaosRig, startRig } from "./harness.js";

const FAILURES = 5;
let rig: ChaosRig;
beforeAll(async () => {
  rig = await startRig(
    (grpc) => `server: { host: 127.0.0.1, port: 0 }
backends:
  triton:
    type: triton
    grpc: [${grpc.map((g) => `"${g}"`).join(", ")}]
    outlierDetection: { consecutiveFailures: ${FAILURES}, baseEjectionTimeMs: 30000 }
defaults:
  timeoutMs: 2000
  retry: { attempts: 2, backoffMs: 5 }
models:
  iris:
    versions: { "1": { backend: triton } }
`,
    { replicas: 2 },
  );
});
afterAll(() => rig.close());

describe("two replicas, one killed mid-load", () => {
  it("keeps at least 99.9% success and ejects the dead replica", async () => {
    const [first, second] = rig.emulators;
    const outcomes = [];
    for (let wave = 0; wave < 125; wave++) {
      if (wave === 12) await first?.kill();
      outcomes.push(...(await Promise.all(Array.from({ length: 16 }, () => rig.predict()))));
    }
    expect(outcomes).toHaveLength(2000);
    const ok = outcomes.filter((o) => o.status === 200).length;
    expect(ok / outcomes.length).toBeGreaterThanOrEqual(0.999);
    const metrics = await (await fetch(`${rig.gateway.url}/metrics`)).text();
    const ejected = metrics.match(
      /infergate_replica_ejections_total\{backend="triton",replica="([^"]+)"\} (\d+)/,
    );
    expect(ejected?.[1]).toBe(first?.grpcAddress);
    expect(Number(ejected?.[2])).toBe(1);
    // After the kill, the live replica served the rest.
    expect(second?.calls.length).toBeGreaterThan(1700);
  });
});
