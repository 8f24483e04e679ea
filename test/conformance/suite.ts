/**
 * One conformance suite for every backend adapter and protocol. Each subject starts its emulator
 * and an adapter pointed at it; the in-process ONNX backend on the same models is the reference
 * for every number.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OnnxAdapter } from "../../src/backends/onnx/adapter.js";
import type { BackendAdapter, BackendCall, TargetRef } from "../../src/backends/types.js";
import type { Datatype, NamedTensor, TensorSpec } from "../../src/tensor/index.js";
import type { EmulatorControl } from "../emulators/control.js";
import { MODELS_DIR } from "../emulators/runner.js";
import { arbitraryBytes, echoValues, toComparable } from "./values.js";

/** A backend adapter + protocol under test. */
export interface ConformanceSubject {
  /** e.g. "triton-grpc". */
  name: string;
  /**
   * Starts a fresh emulator and an adapter (backend name "remote") pointed at it. The in-process
   * ONNX subject has no emulator: the tests that drive one are skipped for it.
   */
  start(): Promise<{ adapter: BackendAdapter; emulator?: EmulatorControl }>;
  /** Datatypes the protocol carries end to end (echo_<dt> round trips run for these). */
  datatypes: Datatype[];
  /** INT64/UINT64 values beyond 2^53 survive the protocol exactly. */
  exact64: boolean;
  /**
   * BYTES that are not plain text (NUL, not UTF-8): "exact" when they survive the protocol and
   * backend, "refused" when the backend cannot hold them and says so (INVALID_REQUEST); undefined
   * skips the check.
   */
  arbitraryBytes?: "exact" | "refused";
  /** Tensors to declare on the target (backends without metadata); undefined = use metadata. */
  declare?: (model: string) => { inputs: TensorSpec[]; outputs: TensorSpec[] } | undefined;
  /** True for the in-process ONNX backend, which has no emulator to stall, fail or kill. */
  inProcess?: boolean;
  /** False when the protocol has no per-model readiness (TorchServe's inference API). */
  perModelReadiness?: boolean;
}

const IRIS_ROWS = [5.1, 3.5, 1.4, 0.2, 6.4, 3.2, 4.5, 1.5, 6.3, 3.3, 6.0, 2.5];

function fp32(name: string, shape: number[], values: number[]): NamedTensor {
  return { name, datatype: "FP32", shape, data: Float32Array.from(values) };
}

function call(inputs: NamedTensor[], extra: Partial<BackendCall> = {}): BackendCall {
  return { inputs, deadline: Date.now() + 5000, signal: new AbortController().signal, ...extra };
}

function expectClose(
  actual: NamedTensor | undefined,
  expected: NamedTensor | undefined,
  label: string,
): void {
  expect(actual, label).toBeDefined();
  expect(actual?.datatype, label).toBe(expected?.datatype);
  expect(actual?.shape, label).toEqual(expected?.shape);
  const a = Array.from(actual?.data as ArrayLike<number | bigint>, Number);
  const e = Array.from(expected?.data as ArrayLike<number | bigint>, Number);
  expect(a.length, label).toBe(e.length);
  a.forEach((v, i) => {
    expect(Math.abs(v - (e[i] ?? Number.NaN)), `${label}[${i}]`).toBeLessThanOrEqual(1e-6);
  });
}

function byName(outputs: readonly NamedTensor[], name: string): NamedTensor | undefined {
  return outputs.find((o) => o.name === name);
}

/** Registers the conformance tests for one subject. */
export function describeConformance(subject: ConformanceSubject): void {
  describe(`conformance: ${subject.name}`, () => {
    let adapter: BackendAdapter;
    let emulator: EmulatorControl;
    const emulated = it.runIf(subject.inProcess !== true);
    let reference: OnnxAdapter;

    const target = (model: string, version?: string): TargetRef => {
      const declared = subject.declare?.(model);
      return {
        backend: "remote",
        model,
        ...(version === undefined ? {} : { version }),
        ...(declared === undefined ? {} : { inputs: declared.inputs, outputs: declared.outputs }),
      };
    };
    const local = (model: string): TargetRef => ({ backend: "local", model });

    beforeAll(async () => {
      reference = await OnnxAdapter.create("local", { modelDir: MODELS_DIR });
      const started = await subject.start();
      adapter = started.adapter;
      if (started.emulator !== undefined) emulator = started.emulator;
    });
    afterAll(async () => {
      await adapter?.close();
      await emulator?.close();
      await reference?.close();
    });

    it("iris: a batch of 3 gives the in-process ONNX numbers, and the backend saw batch size 3", async () => {
      const inputs = [fp32("input", [3, 4], IRIS_ROWS)];
      const [got, want] = await Promise.all([
        adapter.infer(target("iris", "1"), call(inputs)),
        reference.infer(local("iris"), call(inputs)),
      ]);
      expectClose(
        byName(got.outputs, "probabilities"),
        byName(want.outputs, "probabilities"),
        "probabilities",
      );
      expectClose(byName(got.outputs, "label"), byName(want.outputs, "label"), "label");
      if (emulator !== undefined) {
        expect(emulator.calls.some((c) => c.model === "iris" && c.batchSize === 3)).toBe(true);
      }
    });

    it("ops: two inputs and two outputs, first dimension 2", async () => {
      const inputs = [
        fp32("a", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]),
        fp32("b", [2, 4], [0.5, -1, 2, 10, 3, 3, 3, 3]),
      ];
      const got = await adapter.infer(target("ops"), call(inputs));
      expectClose(
        byName(got.outputs, "sum"),
        fp32("sum", [2, 4], [1.5, 1, 5, 14, 8, 9, 10, 11]),
        "sum",
      );
      expectClose(
        byName(got.outputs, "product"),
        fp32("product", [2, 4], [0.5, -2, 6, 40, 15, 18, 21, 24]),
        "product",
      );
    });

    it("returns only the requested outputs", async () => {
      const got = await adapter.infer(
        target("iris"),
        call([fp32("input", [1, 4], IRIS_ROWS.slice(0, 4))], { outputs: ["label"] }),
      );
      expect(got.outputs.map((o) => o.name)).toEqual(["label"]);
      expect(Array.from(got.outputs[0]?.data as BigInt64Array)).toEqual([0n]);
    });

    for (const datatype of subject.datatypes) {
      it(`echo_${datatype.toLowerCase()}: ${datatype} values survive the round trip exactly`, async () => {
        const x = echoValues(datatype, subject.exact64);
        const got = await adapter.infer(target(`echo_${datatype.toLowerCase()}`), call([x]));
        const y = byName(got.outputs, "y");
        expect(y?.datatype).toBe(datatype);
        expect(y?.shape).toEqual(x.shape);
        expect(toComparable(y)).toEqual(toComparable(x));
      });
    }

    it.runIf(subject.arbitraryBytes !== undefined)(
      `echo_bytes: NUL and non-UTF-8 elements are ${subject.arbitraryBytes ?? "skipped"}`,
      async () => {
        const x = arbitraryBytes();
        const run = adapter.infer(target("echo_bytes"), call([x]));
        if (subject.arbitraryBytes === "refused") {
          await expect(run).rejects.toMatchObject({ code: "INVALID_REQUEST" });
          return;
        }
        const y = byName((await run).outputs, "y");
        expect(y?.shape).toEqual(x.shape);
        expect(toComparable(y)).toEqual(toComparable(x));
      },
    );

    it("metadata matches the ONNX model's (or the declared tensors)", async () => {
      const got = await adapter.metadata(target("iris"));
      const want = await reference.metadata(local("iris"));
      const declared = subject.declare?.("iris");
      expect(got.inputs).toEqual(declared?.inputs ?? want.inputs);
      expect(got.outputs).toEqual(declared?.outputs ?? want.outputs);
    });

    it("health and readiness", async () => {
      expect(await adapter.health()).toBe(true);
      expect(await adapter.ready(target("iris"))).toBe(true);
      if (subject.perModelReadiness !== false) {
        expect(await adapter.ready(target("no_such_model"))).toBe(false);
        expect(await adapter.ready(target("iris", "99"))).toBe(false);
      }
    });

    it("a wrongly shaped input is INVALID_REQUEST with the backend's message", async () => {
      const err = await adapter
        .infer(target("iris"), call([fp32("input", [1, 3], [1, 2, 3])]))
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "INVALID_REQUEST" });
      expect((err as Error).message.length).toBeGreaterThan(5);
    });

    it("an unknown model on the backend is BACKEND_ERROR or BACKEND_UNAVAILABLE", async () => {
      const err = await adapter
        .infer(target("no_such_model"), call([fp32("input", [1, 4], [1, 2, 3, 4])]))
        .catch((e: unknown) => e);
      expect(["BACKEND_ERROR", "BACKEND_UNAVAILABLE"]).toContain((err as { code?: string }).code);
    });

    emulated("sends the request id as x-request-id, and none when the call has none", async () => {
      const inputs = [fp32("input", [1, 4], [1, 2, 3, 4])];
      await adapter.infer(target("iris"), call(inputs, { requestId: "job-7f3a" }));
      expect(emulator.calls.at(-1)?.requestId).toBe("job-7f3a");
      await adapter.infer(target("iris"), call(inputs));
      expect(emulator.calls.at(-1)?.requestId).toBeUndefined();
    });

    emulated("maps the backend's unavailable and internal errors", async () => {
      const inputs = [fp32("input", [1, 4], [1, 2, 3, 4])];
      try {
        emulator.setMode({ kind: "unavailable" });
        await expect(adapter.infer(target("iris"), call(inputs))).rejects.toMatchObject({
          code: "BACKEND_UNAVAILABLE",
        });
        emulator.setMode({ kind: "error" });
        await expect(adapter.infer(target("iris"), call(inputs))).rejects.toMatchObject({
          code: "BACKEND_ERROR",
        });
      } finally {
        emulator.setMode({ kind: "ok" });
      }
      await expect(adapter.infer(target("iris"), call(inputs))).resolves.toBeDefined();
    });

    emulated(
      "a stalled backend: BACKEND_TIMEOUT within deadline + 50 ms, and the backend sees the call cancelled",
      async () => {
        emulator.setMode({ kind: "stall" });
        try {
          const before = emulator.calls.length;
          const started = Date.now();
          const err = await adapter
            .infer(
              target("iris"),
              call([fp32("input", [1, 4], [1, 2, 3, 4])], { deadline: started + 300 }),
            )
            .catch((e: unknown) => e);
          const elapsed = Date.now() - started;
          expect(err).toMatchObject({ code: "BACKEND_TIMEOUT" });
          expect(elapsed).toBeLessThanOrEqual(350);
          await expect
            .poll(() => emulator.calls.slice(before).some((c) => c.cancelled === true), {
              timeout: 3000,
            })
            .toBe(true);
        } finally {
          emulator.setMode({ kind: "ok" });
        }
      },
    );

    emulated(
      "a backend killed mid-call fails the call promptly with BACKEND_UNAVAILABLE, then recovers after restart",
      async () => {
        emulator.setMode({ kind: "stall" });
        const started = Date.now();
        const pending = adapter
          .infer(
            target("iris"),
            call([fp32("input", [1, 4], [1, 2, 3, 4])], { deadline: started + 10_000 }),
          )
          .catch((e: unknown) => e);
        await new Promise((r) => setTimeout(r, 100));
        await emulator.kill();
        const err = await pending;
        expect(err).toMatchObject({ code: "BACKEND_UNAVAILABLE" });
        expect(Date.now() - started).toBeLessThan(3000);
        expect(await adapter.health()).toBe(false);
        emulator.setMode({ kind: "ok" });
        await emulator.restart();
        await expect
          .poll(
            async () =>
              adapter
                .infer(
                  target("iris"),
                  call([fp32("input", [1, 4], [1, 2, 3, 4])], { deadline: Date.now() + 1000 }),
                )
                .then(
                  () => true,
                  () => false,
                ),
            { timeout: 8000, interval: 200 },
          )
          .toBe(true);
      },
    );
  });
}
