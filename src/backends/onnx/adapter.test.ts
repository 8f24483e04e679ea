import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendUnavailableError, type GatewayError } from "../../errors.js";
import type { NamedTensor } from "../../tensor/types.js";
import type { BackendCall, TargetRef } from "../types.js";
import { OnnxAdapter } from "./adapter.js";

const MODELS = join(import.meta.dirname, "..", "..", "..", "models");

const target = (model: string, version?: string): TargetRef => ({
  backend: "local",
  model,
  version,
});

function call(inputs: NamedTensor[], outputs?: string[]): BackendCall {
  return { inputs, outputs, deadline: Date.now() + 30_000, signal: new AbortController().signal };
}

function fp32(name: string, shape: number[], values: number[]): NamedTensor {
  return { name, datatype: "FP32", shape, data: Float32Array.from(values) };
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof Error) || !("code" in err))
    throw new Error(`expected a GatewayError, got ${String(err)}`);
  return err as GatewayError;
}

function output(outputs: NamedTensor[], name: string): NamedTensor {
  const found = outputs.find((o) => o.name === name);
  if (found === undefined) throw new Error(`no output ${name}`);
  return found;
}

// Every behaviour holds alike with the sessions on the event loop and on worker threads.
describe.each([0, 1])("OnnxAdapter on the shipped models (workers: %i)", (workers) => {
  let adapter: OnnxAdapter;
  beforeAll(async () => {
    adapter = await OnnxAdapter.create("local", {
      modelDir: MODELS,
      intraOpNumThreads: 1,
      workers,
    });
  });
  afterAll(() => adapter.close());

  it("loads every model version of the repository", () => {
    expect(adapter.name).toBe("local");
    expect(adapter.type).toBe("onnx");
    expect(adapter.loadedModels()).toMatchObject({
      iris: ["1"],
      mlp: ["1"],
      ops: ["1"],
      echo_int64: ["1"],
    });
    expect(Object.keys(adapter.loadedModels())).toHaveLength(21);
  });

  it("calls [5.1, 3.5, 1.4, 0.2] setosa", async () => {
    const result = await adapter.infer(
      target("iris"),
      call([fp32("input", [1, 4], [5.1, 3.5, 1.4, 0.2])]),
    );
    expect(result.modelVersion).toBe("1");
    expect(result.outputs.map((o) => o.name)).toEqual(["probabilities", "label"]);
    const label = output(result.outputs, "label");
    expect(label).toMatchObject({ datatype: "INT64", shape: [1] });
    expect(label.data).toEqual(BigInt64Array.from([0n]));
    const p = output(result.outputs, "probabilities");
    expect(p).toMatchObject({ datatype: "FP32", shape: [1, 3] });
    expect((p.data as Float32Array)[0]).toBeGreaterThan(0.9);
  });

  it("answers a batch of 3 rows with 3 answers in row order", async () => {
    const rows = [6.9, 3.1, 5.4, 2.1, 5.0, 3.4, 1.5, 0.2, 6.0, 2.9, 4.5, 1.5]; // virginica, setosa, versicolor
    const result = await adapter.infer(target("iris", "1"), call([fp32("input", [3, 4], rows)]));
    expect(output(result.outputs, "label").data).toEqual(BigInt64Array.from([2n, 0n, 1n]));
    const p = output(result.outputs, "probabilities");
    expect(p.shape).toEqual([3, 3]);
    for (let row = 0; row < 3; row++) {
      const sum = [0, 1, 2].reduce((s, c) => s + ((p.data as Float32Array)[row * 3 + c] ?? 0), 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it("computes ops sum and product", async () => {
    const a = fp32("a", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    const b = fp32("b", [2, 4], [0.5, -1, 2, 0, 10, 10, -2, 1]);
    const result = await adapter.infer(target("ops"), call([b, a]));
    expect(output(result.outputs, "sum")).toEqual(
      fp32("sum", [2, 4], [1.5, 1, 5, 4, 15, 16, 5, 9]),
    );
    expect(output(result.outputs, "product")).toEqual(
      fp32("product", [2, 4], [0.5, -2, 6, 0, 50, 60, -14, 8]),
    );
  });

  it("fetches only the requested outputs, in the requested order", async () => {
    const inputs = [fp32("a", [1, 4], [1, 2, 3, 4]), fp32("b", [1, 4], [2, 2, 2, 2])];
    const one = await adapter.infer(target("ops"), call(inputs, ["product"]));
    expect(one.outputs).toEqual([fp32("product", [1, 4], [2, 4, 6, 8])]);
    const both = await adapter.infer(target("ops"), call(inputs, ["product", "sum", "product"]));
    expect(both.outputs.map((o) => o.name)).toEqual(["product", "sum"]);
  });

  it("rejects an unknown output name as INVALID_REQUEST", async () => {
    const err = await failure(
      adapter.infer(target("iris"), call([fp32("input", [1, 4], [1, 2, 3, 4])], ["logits"])),
    );
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toMatch(/no output "logits"/);
  });

  it("answers an empty batch with empty outputs", async () => {
    const result = await adapter.infer(target("mlp"), call([fp32("input", [0, 256], [])]));
    expect(result.outputs).toEqual([fp32("logits", [0, 10], [])]);
  });

  it("rejects a wrong shape as INVALID_REQUEST", async () => {
    const err = await failure(
      adapter.infer(target("iris"), call([fp32("input", [1, 3], [1, 2, 3])])),
    );
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/shape \[1,3\].*\[-1,4\]/);
    const rank = await failure(
      adapter.infer(target("iris"), call([fp32("input", [4], [1, 2, 3, 4])])),
    );
    expect(rank.code).toBe("INVALID_REQUEST");
  });

  it("returns onnxruntime's own message when the shapes only clash at run time", async () => {
    const a = fp32("a", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
    const b = fp32("b", [3, 4], new Array(12).fill(1));
    const err = await failure(adapter.infer(target("ops"), call([a, b])));
    expect(err.code).toBe("INVALID_REQUEST");
    expect(err.message).toMatch(/broadcast/);
  });

  it("rejects a wrong datatype, a missing, unknown or repeated input, and BF16", async () => {
    const fp64: NamedTensor = {
      name: "input",
      datatype: "FP64",
      shape: [1, 4],
      data: new Float64Array(4),
    };
    const bf16: NamedTensor = {
      name: "input",
      datatype: "BF16",
      shape: [1, 4],
      data: new Uint16Array(4),
    };
    const a = fp32("a", [1, 4], [1, 2, 3, 4]);
    const cases: [TargetRef, NamedTensor[], RegExp][] = [
      [target("iris"), [fp64], /datatype FP64, the model expects FP32/],
      [target("iris"), [bf16], /datatype BF16/],
      [target("ops"), [a], /missing input "b"/],
      [target("ops"), [a, a, fp32("b", [1, 4], [0, 0, 0, 0])], /"a" given more than once/],
      [target("ops"), [a, fp32("c", [1, 4], [0, 0, 0, 0])], /no input "c"/],
    ];
    for (const [t, inputs, message] of cases) {
      const err = await failure(adapter.infer(t, call(inputs)));
      expect(err.code).toBe("INVALID_REQUEST");
      expect(err.message).toMatch(message);
    }
  });

  it("reports an unknown model or version as BACKEND_UNAVAILABLE naming it", async () => {
    const input = [fp32("input", [1, 4], [1, 2, 3, 4])];
    const version = await failure(adapter.infer(target("iris", "7"), call(input)));
    expect(version).toBeInstanceOf(BackendUnavailableError);
    expect(version.message).toBe('model "iris" version "7" is not loaded on onnx backend "local"');
    const model = await failure(adapter.infer(target("fraud"), call(input)));
    expect(model.code).toBe("BACKEND_UNAVAILABLE");
    expect(model.message).toMatch(/model "fraud"/);
    await expect(adapter.metadata(target("iris", "7"))).rejects.toThrow(BackendUnavailableError);
  });

  it("reports a passed deadline or a cancelled call as BACKEND_TIMEOUT", async () => {
    const inputs = [fp32("input", [1, 4], [1, 2, 3, 4])];
    const late = await failure(
      adapter.infer(target("iris"), {
        inputs,
        deadline: Date.now() - 1,
        signal: new AbortController().signal,
      }),
    );
    expect(late.code).toBe("BACKEND_TIMEOUT");
    const cancelled = await failure(
      adapter.infer(target("iris"), {
        inputs,
        deadline: Date.now() + 30_000,
        signal: AbortSignal.abort(),
      }),
    );
    expect(cancelled.code).toBe("BACKEND_TIMEOUT");
  });

  it("reports metadata from the session", async () => {
    expect(await adapter.metadata(target("iris"))).toEqual({
      name: "iris",
      versions: ["1"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
        { name: "label", datatype: "INT64", shape: [-1] },
      ],
    });
    const ops = await adapter.metadata(target("ops", "1"));
    expect(ops.inputs.map((i) => i.name)).toEqual(["a", "b"]);
    expect(ops.outputs).toEqual([
      { name: "sum", datatype: "FP32", shape: [-1, 4] },
      { name: "product", datatype: "FP32", shape: [-1, 4] },
    ]);
    const mlp = await adapter.metadata(target("mlp"));
    expect(mlp.inputs).toEqual([{ name: "input", datatype: "FP32", shape: [-1, 256] }]);
  });

  it("hands out metadata copies the caller may change", async () => {
    const first = await adapter.metadata(target("iris"));
    first.inputs[0]?.shape.splice(0);
    expect((await adapter.metadata(target("iris"))).inputs[0]?.shape).toEqual([-1, 4]);
  });

  it("is ready for loaded versions only, and healthy", async () => {
    expect(await adapter.ready(target("iris"))).toBe(true);
    expect(await adapter.ready(target("iris", "1"))).toBe(true);
    expect(await adapter.ready(target("iris", "2"))).toBe(false);
    expect(await adapter.ready(target("fraud"))).toBe(false);
    expect(await adapter.health()).toBe(true);
  });
});

describe.each([0, 1])("OnnxAdapter versions and lifecycle (workers: %i)", (workers) => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "infergate-onnx-"));
    // One model name, two versions that behave differently: 1 is iris, 2 is ops.
    for (const [version, source] of [
      ["1", "iris"],
      ["2", "ops"],
    ] as const) {
      mkdirSync(join(dir, "good", "m", version), { recursive: true });
      copyFileSync(
        join(MODELS, source, "1", "model.onnx"),
        join(dir, "good", "m", version, "model.onnx"),
      );
    }
    mkdirSync(join(dir, "bad", "broken", "1"), { recursive: true });
    writeFileSync(join(dir, "bad", "broken", "1", "model.onnx"), "not an onnx model");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("serves the highest version when none is named", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: join(dir, "good"), workers });
    try {
      const inputs = [fp32("a", [1, 4], [1, 2, 3, 4]), fp32("b", [1, 4], [1, 1, 1, 1])];
      const latest = await adapter.infer(target("m"), call(inputs, ["sum"]));
      expect(latest.modelVersion).toBe("2");
      expect(latest.outputs).toEqual([fp32("sum", [1, 4], [2, 3, 4, 5])]);
      const pinned = await adapter.infer(
        target("m", "1"),
        call([fp32("input", [1, 4], [5.1, 3.5, 1.4, 0.2])]),
      );
      expect(pinned.modelVersion).toBe("1");
      const meta = await adapter.metadata(target("m"));
      expect(meta.versions).toEqual(["1", "2"]);
      expect(meta.inputs.map((i) => i.name)).toEqual(["a", "b"]);
      expect((await adapter.metadata(target("m", "1"))).inputs.map((i) => i.name)).toEqual([
        "input",
      ]);
    } finally {
      await adapter.close();
    }
  });

  it("refuses calls after close, and reports itself unhealthy", async () => {
    const adapter = await OnnxAdapter.create("local", { modelDir: join(dir, "good"), workers });
    await adapter.close();
    await adapter.close(); // a second close is harmless
    expect(await adapter.health()).toBe(false);
    const inputs = [fp32("input", [1, 4], [1, 2, 3, 4])];
    expect((await failure(adapter.infer(target("m", "1"), call(inputs)))).code).toBe(
      "BACKEND_UNAVAILABLE",
    );
    expect((await failure(adapter.metadata(target("m")))).message).toMatch(/closed/);
    expect((await failure(adapter.ready(target("m")))).code).toBe("BACKEND_UNAVAILABLE");
  });

  it("fails clearly for a missing modelDir", async () => {
    const missing = join(dir, "does-not-exist");
    const err = await failure(OnnxAdapter.create("local", { modelDir: missing, workers }));
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.message).toContain(missing);
  });

  it("fails clearly, naming the file, for a model onnxruntime cannot load", async () => {
    const err = await failure(OnnxAdapter.create("local", { modelDir: join(dir, "bad"), workers }));
    expect(err.code).toBe("BACKEND_UNAVAILABLE");
    expect(err.message).toContain(join(dir, "bad", "broken", "1", "model.onnx"));
  });
});
