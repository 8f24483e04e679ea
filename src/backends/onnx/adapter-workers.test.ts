import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SLOW_WIDTH, writeSlowRepository } from "../../../test/support/slow-onnx-model.js";
import type { GatewayError } from "../../errors.js";
import type { NamedTensor } from "../../tensor/types.js";
import type { BackendCall, TargetRef } from "../types.js";
import { OnnxAdapter } from "./adapter.js";

/**
 * What worker threads are for. The `slow` model (test/support/slow-onnx-model.ts) keeps a run going for a long
 * stretch; none of these tests measures time: they check what finishes first, or what the pool
 * is doing when a call returns. Each one fails with the sessions on the event loop, where a run
 * blocks everything until it ends (the first test shows that ordering).
 */

const MODELS = join(import.meta.dirname, "..", "..", "..", "models");
/** Rows for a slow call: about 137 GFLOP, a second or so on a fast core; a small call is ~0.1 ms. */
const SLOW_ROWS = 4096;

const target = (model: string): TargetRef => ({ backend: "local", model });

function call(inputs: NamedTensor[], deadline = Date.now() + 60_000): BackendCall {
  return { inputs, deadline, signal: new AbortController().signal };
}

function fp32(name: string, shape: number[], values: ArrayLike<number>): NamedTensor {
  return { name, datatype: "FP32", shape, data: Float32Array.from(values) };
}

const slowCall = (deadline?: number): BackendCall =>
  call(
    [fp32("x", [SLOW_ROWS, SLOW_WIDTH], new Float32Array(SLOW_ROWS * SLOW_WIDTH).fill(2))],
    deadline,
  );
const irisCall = (): BackendCall => call([fp32("input", [1, 4], [5.1, 3.5, 1.4, 0.2])]);

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !("code" in err)) throw new Error("expected a GatewayError");
  return err as GatewayError;
}

/** The order in which a slow call and a small call issued just after it finish. */
async function finishingOrder(adapter: OnnxAdapter): Promise<string[]> {
  const order: string[] = [];
  const slow = adapter.infer(target("slow"), slowCall()).then(() => order.push("slow"));
  await adapter.infer(target("iris"), irisCall());
  order.push("iris");
  await slow;
  return order;
}

describe("OnnxAdapter with workers: the event loop stays free", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "infergate-slow-"));
    writeSlowRepository(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("on the event loop (workers: 0), a small call waits for a slow one issued before it", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 0 });
    try {
      expect(await finishingOrder(adapter)).toEqual(["slow", "iris"]);
    } finally {
      await adapter.close();
    }
  });

  it("with 2 workers, a small call finishes on the free worker while the slow run goes on", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 2 });
    try {
      expect(await finishingOrder(adapter)).toEqual(["iris", "slow"]);
    } finally {
      await adapter.close();
    }
  });

  it("with 1 worker, timers on the main thread fire while the run is in progress", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 1 });
    try {
      let ticks = 0;
      let done = false;
      const tick = (): void => {
        ticks++;
        if (!done) setImmediate(tick);
      };
      const slow = adapter.infer(target("slow"), slowCall());
      setImmediate(tick);
      const result = await slow;
      done = true;
      // On the event loop the run (queued by onnxruntime before the first tick) would end first.
      expect(ticks).toBeGreaterThan(0);
      // Every element is 2s averaged 256 times over, which float32 keeps exactly 2.
      const y = result.outputs[0];
      expect(y?.shape).toEqual([SLOW_ROWS, SLOW_WIDTH]);
      expect(new Set(y?.data as Float32Array | undefined)).toEqual(new Set([2]));
    } finally {
      await adapter.close();
    }
  });

  it("answers BACKEND_TIMEOUT at the deadline while the run goes on in the worker", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 1 });
    try {
      const err = await failure(adapter.infer(target("slow"), slowCall(Date.now() + 50)));
      expect(err.code).toBe("BACKEND_TIMEOUT");
      expect(err.message).toBe('model "slow" version "1": the deadline passed');
      // Answered while the worker is still inside the run (the event loop could not have).
      expect(adapter.workerStats()).toMatchObject({ alive: 1, busy: 1 });
      // The next call waits for the worker, then gets its own answer, not the dropped one.
      const next = await adapter.infer(target("iris"), irisCall());
      expect(next.outputs.map((o) => o.name)).toEqual(["probabilities", "label"]);
      expect(adapter.workerStats()).toMatchObject({ busy: 0, queued: 0 });
    } finally {
      await adapter.close();
    }
  });

  it("a worker busy past a deadline does not hold up calls another worker can take", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 2 });
    try {
      const err = await failure(adapter.infer(target("slow"), slowCall(Date.now() + 50)));
      expect(err.code).toBe("BACKEND_TIMEOUT");
      for (let i = 0; i < 3; i++) await adapter.infer(target("iris"), irisCall());
      expect(adapter.workerStats()).toMatchObject({ busy: 1 }); // still the timed-out run
    } finally {
      await adapter.close();
    }
  });

  it("close lets a started run finish, then refuses calls and reports itself unhealthy", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: dir, workers: 1 });
    const slow = adapter.infer(target("slow"), slowCall());
    await adapter.close();
    expect((await slow).outputs[0]?.shape).toEqual([SLOW_ROWS, SLOW_WIDTH]);
    expect(await adapter.health()).toBe(false);
    expect(adapter.workerStats()).toMatchObject({ alive: 0 });
    expect((await failure(adapter.infer(target("iris"), irisCall()))).message).toMatch(/closed/);
  });
});

describe("OnnxAdapter with workers: tensors cross threads intact", () => {
  let onLoop: OnnxAdapter;
  let onWorker: OnnxAdapter;
  beforeAll(async () => {
    [onLoop, onWorker] = await Promise.all([
      OnnxAdapter.create("local", { modelDir: MODELS, workers: 0 }),
      OnnxAdapter.create("local", { modelDir: MODELS, workers: 1 }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([onLoop.close(), onWorker.close()]);
  });

  const bytesOf = (t: NamedTensor | undefined): number[] => {
    if (t === undefined) return [];
    if (Array.isArray(t.data)) return t.data.flatMap((b) => [...b, -1]);
    const view = t.data as ArrayBufferView;
    return [...new Uint8Array(view.buffer, view.byteOffset, view.byteLength)];
  };

  it("answers mlp bit for bit as on the event loop", async () => {
    let seed = 7;
    const values = Array.from({ length: 3 * 256 }, () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31 - 0.5;
    });
    const inputs = [fp32("input", [3, 256], values)];
    const [want, got] = await Promise.all([
      onLoop.infer(target("mlp"), call(inputs)),
      onWorker.infer(target("mlp"), call(inputs)),
    ]);
    expect(got.outputs[0]?.shape).toEqual([3, 10]);
    expect(bytesOf(got.outputs[0])).toEqual(bytesOf(want.outputs[0]));
  });

  it("keeps NaN payloads, FP16 half bits and INT64 extremes exactly", async () => {
    const nan = new Float32Array(
      new Uint32Array([0x7fa00001, 0xffc00123, 0x00000001, 0x80000000]).buffer,
    );
    const cases: [string, NamedTensor][] = [
      ["echo_fp32", { name: "x", datatype: "FP32", shape: [2, 2], data: nan }],
      [
        "echo_fp16",
        {
          name: "x",
          datatype: "FP16",
          shape: [1, 4],
          data: Uint16Array.from([0x7e01, 0xfc00, 0x0001, 0x8000]),
        },
      ],
      [
        "echo_int64",
        {
          name: "x",
          datatype: "INT64",
          shape: [1, 2],
          data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]),
        },
      ],
    ];
    for (const [model, x] of cases) {
      const got = await onWorker.infer(target(model), call([x]));
      expect(got.outputs[0]?.datatype, model).toBe(x.datatype);
      expect(bytesOf(got.outputs[0]), model).toEqual(bytesOf(x));
    }
  });

  it("copies inputs that are views into larger buffers and leaves the caller's tensors usable", async () => {
    const body = new Float32Array([9, 9, 1, 2, 3, 4, 9, 9]);
    const features: NamedTensor = {
      name: "input",
      datatype: "FP32",
      shape: [1, 4],
      data: body.subarray(2, 6),
    };
    const raw = new TextEncoder().encode("..héllo..wörld");
    const strings: NamedTensor = {
      name: "x",
      datatype: "BYTES",
      shape: [1, 2],
      data: [raw.subarray(2, 8), raw.subarray(10)],
    };
    const [iris, echo] = await Promise.all([
      onWorker.infer(target("iris"), call([features])),
      onWorker.infer(target("echo_bytes"), call([strings])),
    ]);
    expect(iris.outputs[0]?.shape).toEqual([1, 3]);
    expect(echo.outputs[0]?.data).toEqual([
      new TextEncoder().encode("héllo"),
      new TextEncoder().encode("wörld"),
    ]);
    // Nothing of the caller's was moved to the worker.
    expect(body.byteLength).toBe(32);
    expect([...features.data]).toEqual([1, 2, 3, 4]);
    expect(raw.byteLength).toBe(16);
    const again = await onLoop.infer(target("iris"), call([features]));
    expect(bytesOf(again.outputs[0])).toEqual(bytesOf(iris.outputs[0]));
  });

  it("checks inputs on the main thread before anything reaches a worker", async () => {
    const bad: NamedTensor = {
      name: "x",
      datatype: "BYTES",
      shape: [1, 1],
      data: [Uint8Array.from([0xff])],
    };
    const err = await failure(onWorker.infer(target("echo_bytes"), call([bad])));
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toMatch(/not valid UTF-8/);
    expect(onWorker.workerStats()).toMatchObject({ busy: 0, queued: 0 });
  });

  it("fails clearly when the worker script is missing", async () => {
    const missing = pathToFileURL(join(tmpdir(), "infergate-no-such-dir", "worker.js"));
    const err = await failure(
      OnnxAdapter.create("local", { modelDir: MODELS, workers: 1, pool: { script: missing } }),
    );
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.message).toContain(join(tmpdir(), "infergate-no-such-dir", "worker.js"));
  });
});
