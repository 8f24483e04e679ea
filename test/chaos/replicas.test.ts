/**
 * Chaos: a Triton backend with two replicas (real emulators, real gRPC and HTTP over loopback)
 * behind the ReplicaSet the factory builds. One replica is killed mid-load; the set must eject it
 * after exactly `consecutiveFailures` failures and send everything afterwards to the live one.
 * Retries are not here (the gateway adds them in front), so some calls fail: they are counted.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAdapter } from "../../src/backends/factory.js";
import { ReplicaSet } from "../../src/backends/replicas/replica-set.js";
import type { ReplicaSnapshot } from "../../src/backends/replicas/replica-state.js";
import type { BackendAdapter, BackendCall, TargetRef } from "../../src/backends/types.js";
import { backendSchema } from "../../src/config/schema.js";
import type { EmulatorControl } from "../emulators/control.js";
import { ModelRunner } from "../emulators/runner.js";
import { startTritonEmulator } from "../emulators/triton/index.js";

const TOTAL = 2000;
const CONCURRENCY = 16;
const KILL_AT = 200;
const CONSECUTIVE_FAILURES = 5;
const BACKEND = "tri";
const target: TargetRef = { backend: BACKEND, model: "iris", version: "1" };

function irisCall(): BackendCall {
  return {
    inputs: [
      { name: "input", datatype: "FP32", shape: [1, 4], data: Float32Array.of(5.1, 3.5, 1.4, 0.2) },
    ],
    deadline: Date.now() + 10_000,
    signal: new AbortController().signal,
  };
}

interface Ejection {
  backend: string;
  address: string;
  /** Calls dispatched before it. */
  dispatched: number;
  replicas: ReplicaSnapshot[];
}

interface LoadResult {
  failures: number;
  /** Failed calls that were dispatched after the ejection. */
  failuresAfterEjection: number;
  /** Calls dispatched after the ejection. */
  afterEjection: number;
  /** Successful calls without iris' two outputs. */
  wrongAnswers: number;
  ejections: Ejection[];
  /** Calls each emulator had served when the victim was killed. */
  servedBeforeKill: [number, number];
}

/**
 * Sends TOTAL calls, CONCURRENCY at a time, through a set over both emulators' `protocol`
 * addresses; kills the first emulator when call KILL_AT is due.
 */
async function runLoad(
  protocol: "grpc" | "rest",
  emulators: [EmulatorControl, EmulatorControl],
): Promise<LoadResult> {
  const addresses = emulators.map((e) => (protocol === "grpc" ? e.grpcAddress : e.restUrl));
  const config = backendSchema.parse({
    type: "triton",
    protocol,
    [protocol === "grpc" ? "grpc" : "url"]: addresses,
    outlierDetection: {
      consecutiveFailures: CONSECUTIVE_FAILURES,
      // Longer than the test: once ejected the victim stays out.
      baseEjectionTimeMs: 600_000,
      maxEjectionTimeMs: 600_000,
    },
  });
  const ejections: Ejection[] = [];
  let dispatched = 0;
  let set: BackendAdapter | undefined;
  set = await createAdapter(BACKEND, config, {
    onEject(backend, address) {
      const replicas = set instanceof ReplicaSet ? set.snapshot() : [];
      ejections.push({ backend, address, dispatched, replicas });
    },
  });
  expect(set).toBeInstanceOf(ReplicaSet);
  const adapter = set;
  const [victim, survivor] = emulators;
  let servedBeforeKill: [number, number] = [0, 0];
  let failures = 0;
  let failuresAfterEjection = 0;
  let afterEjection = 0;
  let wrongAnswers = 0;

  const worker = async (): Promise<void> => {
    while (dispatched < TOTAL) {
      const seq = dispatched++;
      if (seq === KILL_AT) {
        servedBeforeKill = [victim.calls.length, survivor.calls.length];
        await victim.kill();
      }
      const ejectedBefore = ejections.length > 0;
      if (ejectedBefore) afterEjection++;
      const result = await adapter.infer(target, irisCall()).catch(() => undefined);
      if (result === undefined) {
        failures++;
        if (ejectedBefore) failuresAfterEjection++;
      } else if (
        result.outputs
          .map((o) => o.name)
          .sort()
          .join() !== "label,probabilities"
      ) {
        wrongAnswers++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    await adapter.close();
  }
  return {
    failures,
    failuresAfterEjection,
    afterEjection,
    wrongAnswers,
    ejections,
    servedBeforeKill,
  };
}

describe.each(["grpc", "rest"] as const)(
  "replicas over %s: a replica killed under load",
  (protocol) => {
    let runner: ModelRunner;
    let emulators: [EmulatorControl, EmulatorControl];

    beforeAll(async () => {
      runner = await ModelRunner.load();
      const options = { runner, rest: protocol === "rest", grpc: protocol === "grpc" };
      emulators = [await startTritonEmulator(options), await startTritonEmulator(options)];
    });

    afterAll(async () => {
      for (const emulator of emulators ?? []) await emulator.close();
      await runner?.close();
    });

    it("is ejected after exactly consecutiveFailures failures; every later call goes to the live replica", async () => {
      const [victim, survivor] = emulators;
      const survivorBefore = survivor.calls.length;
      const result = await runLoad(protocol, emulators);
      const victimAddress = protocol === "grpc" ? victim.grpcAddress : victim.restUrl;

      // Both replicas shared the load before the kill.
      const [victimServed, survivorServed] = result.servedBeforeKill;
      expect(victimServed).toBeGreaterThanOrEqual(KILL_AT * 0.2);
      expect(survivorServed - survivorBefore).toBeGreaterThanOrEqual(KILL_AT * 0.2);

      // One ejection, of the killed replica, at its CONSECUTIVE_FAILURES-th failure in a row.
      expect(result.ejections.map((e) => [e.backend, e.address])).toEqual([
        [BACKEND, victimAddress],
      ]);
      const [ejection] = result.ejections;
      const atEjection = ejection?.replicas.map((r) => [r.address, r.consecutiveFailures]);
      expect(atEjection).toEqual([
        [victimAddress, CONSECUTIVE_FAILURES],
        [protocol === "grpc" ? survivor.grpcAddress : survivor.restUrl, 0],
      ]);
      expect(ejection?.dispatched).toBeGreaterThan(KILL_AT);

      // Only calls sent to the victim before its ejection failed: those counted, plus at most the
      // others already in flight to it.
      expect(result.failures).toBeGreaterThanOrEqual(CONSECUTIVE_FAILURES);
      expect(result.failures).toBeLessThanOrEqual(CONSECUTIVE_FAILURES + CONCURRENCY - 1);
      expect(result.failuresAfterEjection).toBe(0);
      expect(result.wrongAnswers).toBe(0);
      expect(result.afterEjection).toBeGreaterThan(TOTAL - KILL_AT - 100);
      // The survivor served every call that succeeded after the kill.
      expect(survivor.calls.length - survivorServed).toBeGreaterThanOrEqual(
        TOTAL - KILL_AT - result.failures,
      );
      console.info(
        `[replicas/${protocol}] ${result.failures} of ${TOTAL} calls failed at the adapter level ` +
          `(no retries); victim ejected after call ${ejection?.dispatched} was dispatched`,
      );
    });
  },
);

describe("createAdapter for remote backends", () => {
  it("returns the plain adapter for one address, a ReplicaSet for several", async () => {
    const single = await createAdapter(
      "one",
      backendSchema.parse({ type: "triton", grpc: ["127.0.0.1:1"] }),
    );
    const several = await createAdapter(
      "two",
      backendSchema.parse({ type: "tfserving", url: ["http://127.0.0.1:1", "http://127.0.0.1:2"] }),
    );
    try {
      expect(single).not.toBeInstanceOf(ReplicaSet);
      expect(single.name).toBe("one");
      expect(several).toBeInstanceOf(ReplicaSet);
      expect([several.name, several.type]).toEqual(["two", "tfserving"]);
      const replicas = several instanceof ReplicaSet ? several.snapshot() : [];
      expect(replicas.map((r) => r.address)).toEqual(["http://127.0.0.1:1", "http://127.0.0.1:2"]);
      // No outlierDetection block: the schema's defaults apply (50% of 2 replicas = 1 ejectable).
      expect(replicas.every((r) => r.ejectedUntil === null && r.timesEjected === 0)).toBe(true);
    } finally {
      await single.close();
      await several.close();
    }
  });
});
