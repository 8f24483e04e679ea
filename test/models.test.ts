/**
 * The shipped models: the generator is deterministic and matches the committed files, and each
 * model computes what models/README.md says, run through the real onnxruntime.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "..");
const modelsDir = join(repo, "models");
/** The echo_<suffix> models: suffix -> onnxruntime element type. */
const ECHO_TYPES = {
  bool: "bool",
  uint8: "uint8",
  uint16: "uint16",
  uint32: "uint32",
  uint64: "uint64",
  int8: "int8",
  int16: "int16",
  int32: "int32",
  int64: "int64",
  fp16: "float16",
  fp32: "float32",
  fp64: "float64",
  bytes: "string",
} as const;
const ECHO_MODELS = Object.keys(ECHO_TYPES).map((suffix) => `echo_${suffix}`);
const SIMPLE_MODELS = ["simple", "simple_int8", "simple_string", "simple_identity"];
const MODELS = ["iris", "iris_early", "mlp", "ops", ...SIMPLE_MODELS, ...ECHO_MODELS];
const SPECIES = ["setosa", "versicolor", "virginica"];

function modelPath(dir: string, model: string): string {
  return join(dir, model, "1", "model.onnx");
}

function readIrisCsv(): { x: number[][]; y: number[] } {
  const lines = readFileSync(join(repo, "scripts", "data", "iris.csv"), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .slice(1);
  const x = lines.map((l) => l.split(",").slice(0, 4).map(Number));
  const y = lines.map((l) => SPECIES.indexOf(l.split(",")[4]?.trim() ?? ""));
  return { x, y };
}

/** A tensor's data as plain values (numbers or strings). */
function values(value: ort.OnnxValue | undefined): unknown[] {
  if (!(value instanceof ort.Tensor)) throw new Error("expected a tensor");
  return Array.from(value.data as ArrayLike<unknown>);
}

function floats(value: ort.OnnxValue | undefined): Float32Array {
  if (!(value instanceof ort.Tensor) || !(value.data instanceof Float32Array)) {
    throw new Error("expected a float32 tensor");
  }
  return value.data;
}

/** The float32 initializers of a model file, decoded with the script's own onnx.proto. */
function initializers(bytes: Uint8Array): Map<string, Float32Array> {
  const ModelProto = protobuf
    .loadSync(join(repo, "scripts", "onnx.proto"))
    .lookupType("onnx.ModelProto");
  const decoded: unknown = ModelProto.toObject(ModelProto.decode(bytes));
  const graph =
    typeof decoded === "object" && decoded !== null && "graph" in decoded
      ? decoded.graph
      : undefined;
  const list =
    typeof graph === "object" && graph !== null && "initializer" in graph ? graph.initializer : [];
  const out = new Map<string, Float32Array>();
  for (const t of Array.isArray(list) ? (list as unknown[]) : []) {
    if (typeof t !== "object" || t === null || !("name" in t) || !("rawData" in t)) continue;
    if (typeof t.name !== "string" || !(t.rawData instanceof Uint8Array)) continue;
    // A copy: the decoded bytes may sit at an offset that is not 4-aligned.
    out.set(t.name, new Float32Array(Uint8Array.from(t.rawData).buffer));
  }
  return out;
}

describe("scripts/make-models.mjs", () => {
  let outDir = "";
  let log = "";
  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), "infergate-models-"));
    log = execFileSync(process.execPath, [join(repo, "scripts", "make-models.mjs"), outDir], {
      encoding: "utf8",
    });
  });
  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it.each(MODELS)("regenerates %s byte-identical to the committed file", (model) => {
    const fresh = readFileSync(modelPath(outDir, model));
    const committed = readFileSync(modelPath(modelsDir, model));
    expect(fresh.length).toBeGreaterThan(0);
    expect(fresh.equals(committed)).toBe(true);
  });

  it("writes exactly the models this test knows, and nothing else", () => {
    expect(readdirSync(outDir).sort()).toEqual([...MODELS].sort());
  });

  it("prints a training accuracy above 95%", () => {
    const match = /training accuracy ([\d.]+)%/.exec(log);
    expect(match).not.toBeNull();
    expect(Number(match?.[1])).toBeGreaterThan(95);
  });
});

describe("the data set", () => {
  it("holds Fisher's 150 rows with the well-known class means", () => {
    const { x, y } = readIrisCsv();
    expect(x).toHaveLength(150);
    const expected = [
      [5.006, 3.428, 1.462, 0.246],
      [5.936, 2.77, 4.26, 1.326],
      [6.588, 2.974, 5.552, 2.026],
    ];
    expected.forEach((means, c) => {
      const rows = x.filter((_, i) => y[i] === c);
      expect(rows).toHaveLength(50);
      means.forEach((m, j) => {
        expect(rows.reduce((s, r) => s + (r[j] ?? 0), 0) / 50).toBeCloseTo(m, 9);
      });
    });
  });
});

describe("iris/1", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(modelsDir, "iris"));
  });
  afterAll(() => session.release());

  it("declares input [batch,4] and outputs probabilities [batch,3], label [batch]", () => {
    expect(session.inputMetadata).toEqual([
      { name: "input", isTensor: true, type: "float32", shape: ["batch", 4] },
    ]);
    expect(session.outputMetadata).toEqual([
      { name: "probabilities", isTensor: true, type: "float32", shape: ["batch", 3] },
      { name: "label", isTensor: true, type: "int64", shape: ["batch"] },
    ]);
  });

  it("calls [5.1, 3.5, 1.4, 0.2] setosa with probabilities summing to 1", async () => {
    const input = new ort.Tensor("float32", Float32Array.from([5.1, 3.5, 1.4, 0.2]), [1, 4]);
    const out = await session.run({ input });
    const p = floats(out.probabilities);
    expect(p[0]).toBeGreaterThan(0.9);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(out.label?.data).toEqual(BigInt64Array.from([0n]));
  });

  it("classifies more than 95% of the data set correctly", async () => {
    const { x, y } = readIrisCsv();
    const input = new ort.Tensor("float32", Float32Array.from(x.flat()), [x.length, 4]);
    const out = await session.run({ input });
    const labels = out.label?.data;
    expect(labels).toBeInstanceOf(BigInt64Array);
    const predicted = [...(labels as BigInt64Array)].map(Number);
    const correct = predicted.filter((label, i) => label === y[i]).length;
    expect(correct / x.length).toBeGreaterThan(0.95);
  });
});

describe("iris_early/1", () => {
  it("has iris's inputs and outputs but computes differently: 80-90% correct, not all labels equal", async () => {
    const early = await ort.InferenceSession.create(modelPath(modelsDir, "iris_early"));
    const trained = await ort.InferenceSession.create(modelPath(modelsDir, "iris"));
    try {
      expect(early.inputMetadata).toEqual(trained.inputMetadata);
      expect(early.outputMetadata).toEqual(trained.outputMetadata);
      const { x, y } = readIrisCsv();
      const input = new ort.Tensor("float32", Float32Array.from(x.flat()), [x.length, 4]);
      const labels = async (session: ort.InferenceSession) =>
        [...((await session.run({ input })).label?.data ?? [])].map(Number);
      const a = await labels(early);
      const b = await labels(trained);
      const correct = a.filter((label, i) => label === y[i]).length / x.length;
      expect(correct).toBeGreaterThan(0.8);
      expect(correct).toBeLessThan(0.9);
      expect(a.filter((label, i) => label !== b[i]).length).toBeGreaterThan(5);
    } finally {
      await early.release();
      await trained.release();
    }
  });
});

describe("mlp/1", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(modelsDir, "mlp"));
  });
  afterAll(() => session.release());

  it("declares input [batch,256] and logits [batch,10]", () => {
    expect(session.inputMetadata).toEqual([
      { name: "input", isTensor: true, type: "float32", shape: ["batch", 256] },
    ]);
    expect(session.outputMetadata).toEqual([
      { name: "logits", isTensor: true, type: "float32", shape: ["batch", 10] },
    ]);
  });

  it("computes Gemm -> Relu -> Gemm with the weights stored in the file", async () => {
    const init = initializers(readFileSync(modelPath(modelsDir, "mlp")));
    const [w1, b1, w2, b2] = ["w1", "b1", "w2", "b2"].map((name) => {
      const values = init.get(name);
      if (values === undefined) throw new Error(`initializer ${name} missing`);
      return values;
    }) as [Float32Array, Float32Array, Float32Array, Float32Array];
    expect([w1.length, b1.length, w2.length, b2.length]).toEqual([256 * 1024, 1024, 10240, 10]);

    const x = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i) / 2);
    const hidden = Array.from({ length: 1024 }, (_, h) => {
      let s = b1[h] ?? 0;
      for (let i = 0; i < 256; i++) s += (x[i] ?? 0) * (w1[i * 1024 + h] ?? 0);
      return Math.max(0, s);
    });
    const expected = Array.from({ length: 10 }, (_, o) => {
      let s = b2[o] ?? 0;
      for (let h = 0; h < 1024; h++) s += (hidden[h] ?? 0) * (w2[h * 10 + o] ?? 0);
      return s;
    });

    const out = await session.run({ input: new ort.Tensor("float32", x, [1, 256]) });
    const logits = floats(out.logits);
    expect(logits).toHaveLength(10);
    expected.forEach((v, i) => {
      expect(logits[i]).toBeCloseTo(v, 3);
    });
    // Seeded non-zero weights: the logits are not all equal.
    expect(new Set(logits).size).toBeGreaterThan(1);
  });
});

describe("ops/1", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(modelsDir, "ops"));
  });
  afterAll(() => session.release());

  it("declares inputs a, b and outputs sum, product, all [batch,4]", () => {
    const spec = (name: string) => ({ name, isTensor: true, type: "float32", shape: ["batch", 4] });
    expect(session.inputMetadata).toEqual([spec("a"), spec("b")]);
    expect(session.outputMetadata).toEqual([spec("sum"), spec("product")]);
  });

  it("returns a + b and a * b", async () => {
    const a = new ort.Tensor("float32", Float32Array.from([1, 2, 3, 4, -1, 0.5, 10, 0]), [2, 4]);
    const b = new ort.Tensor("float32", Float32Array.from([5, 6, 7, 8, 2, 4, -3, 9]), [2, 4]);
    const out = await session.run({ a, b });
    expect([...floats(out.sum)]).toEqual([6, 8, 10, 12, 1, 4.5, 7, 9]);
    expect([...floats(out.product)]).toEqual([5, 12, 21, 32, -2, 2, -30, 0]);
    expect(out.sum?.dims).toEqual([2, 4]);
  });
});

describe("simple/1", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(modelsDir, "simple"));
  });
  afterAll(() => session.release());

  it("declares INPUT0, INPUT1 and OUTPUT0, OUTPUT1, all INT32 [batch,16]", () => {
    const spec = (name: string) => ({ name, isTensor: true, type: "int32", shape: ["batch", 16] });
    expect(session.inputMetadata).toEqual([spec("INPUT0"), spec("INPUT1")]);
    expect(session.outputMetadata).toEqual([spec("OUTPUT0"), spec("OUTPUT1")]);
  });

  it("returns the sum and the difference, wrapping like INT32", async () => {
    const a = Int32Array.from({ length: 16 }, (_, i) => i);
    a[15] = 2147483647;
    const b = Int32Array.from({ length: 16 }, () => 1);
    const out = await session.run({
      INPUT0: new ort.Tensor("int32", a, [1, 16]),
      INPUT1: new ort.Tensor("int32", b, [1, 16]),
    });
    const sum = Array.from({ length: 16 }, (_, i) => (i === 15 ? -2147483648 : i + 1));
    const diff = Array.from({ length: 16 }, (_, i) => (i === 15 ? 2147483646 : i - 1));
    expect(values(out.OUTPUT0)).toEqual(sum);
    expect(values(out.OUTPUT1)).toEqual(diff);
  });
});

describe("simple_int8/1, simple_string/1, simple_identity/1", () => {
  const open = (model: string) => ort.InferenceSession.create(modelPath(modelsDir, model));

  it("simple_int8 adds and subtracts INT8", async () => {
    const session = await open("simple_int8");
    const a = Int8Array.from({ length: 16 }, (_, i) => i);
    const b = Int8Array.from({ length: 16 }, () => 3);
    const out = await session.run({
      INPUT0: new ort.Tensor("int8", a, [1, 16]),
      INPUT1: new ort.Tensor("int8", b, [1, 16]),
    });
    expect(values(out.OUTPUT0)).toEqual([...a].map((v) => v + 3));
    expect(values(out.OUTPUT1)).toEqual([...a].map((v) => v - 3));
    await session.release();
  });

  it("simple_string answers the sum and difference of decimal strings as strings", async () => {
    const session = await open("simple_string");
    const a = Array.from({ length: 16 }, (_, i) => String(i));
    const b = Array.from({ length: 16 }, () => "1");
    const out = await session.run({
      INPUT0: new ort.Tensor("string", a, [1, 16]),
      INPUT1: new ort.Tensor("string", b, [1, 16]),
    });
    expect(values(out.OUTPUT0)).toEqual(a.map((v) => String(Number(v) + 1)));
    expect(values(out.OUTPUT1)).toEqual(a.map((v) => String(Number(v) - 1)));
    await session.release();
  });

  it("simple_identity echoes strings", async () => {
    const session = await open("simple_identity");
    const out = await session.run({ INPUT0: new ort.Tensor("string", ["a", "bc"], [1, 2]) });
    expect(values(out.OUTPUT0)).toEqual(["a", "bc"]);
    await session.release();
  });
});

/** Bit-exact bytes of a typed array (so NaN payloads and -0 compare exactly). */
function bytesOf(data: unknown): Buffer {
  if (!ArrayBuffer.isView(data)) throw new Error("expected a typed array");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

const f32Bits = (bits: number[]) => new Float32Array(Uint32Array.from(bits).buffer);
const f64Bits = (bits: bigint[]) => new Float64Array(BigUint64Array.from(bits).buffer);

/** Per echo model: a [2, 3] input of its type's edge values (each a constructor ORT accepts). */
const ECHO_CASES: Record<keyof typeof ECHO_TYPES, ort.Tensor["data"]> = {
  bool: Uint8Array.from([1, 0, 0, 1, 1, 0]),
  uint8: Uint8Array.from([0, 255, 1, 128, 127, 254]),
  uint16: Uint16Array.from([0, 65535, 1, 32768, 32767, 65534]),
  uint32: Uint32Array.from([0, 4294967295, 1, 2147483648, 2147483647, 4294967294]),
  uint64: BigUint64Array.from([0n, 2n ** 64n - 1n, 1n, 2n ** 63n, 2n ** 53n + 1n, 2n ** 64n - 2n]),
  int8: Int8Array.from([-128, 127, 0, -1, 1, -127]),
  int16: Int16Array.from([-32768, 32767, 0, -1, 1, -32767]),
  int32: Int32Array.from([-2147483648, 2147483647, 0, -1, 1, -2147483647]),
  int64: BigInt64Array.from([
    -(2n ** 63n),
    2n ** 63n - 1n,
    0n,
    -1n,
    2n ** 53n + 1n,
    -(2n ** 53n) - 1n,
  ]),
  // FP16 bit patterns: -0, max 65504, smallest subnormal, +inf, -inf, a quiet NaN with payload.
  fp16: Uint16Array.from([0x8000, 0x7bff, 0x0001, 0x7c00, 0xfc00, 0x7e01]),
  // -0, max, smallest subnormal, +inf, -inf, a NaN with payload.
  fp32: f32Bits([0x80000000, 0x7f7fffff, 0x00000001, 0x7f800000, 0xff800000, 0x7fc00001]),
  fp64: f64Bits([
    0x8000000000000000n,
    0x7fefffffffffffffn,
    0x0000000000000001n,
    0x7ff0000000000000n,
    0xfff0000000000000n,
    0x7ff8000000000001n,
  ]),
  bytes: ["", "héllo", "日本語", "😀 emoji", "tab\tand\nnewline", "x".repeat(1000)],
};

describe.each(Object.entries(ECHO_TYPES))("echo_%s/1", (suffix, type) => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(modelPath(modelsDir, `echo_${suffix}`));
  });
  afterAll(() => session.release());

  it(`declares x and y ${type} [batch, n]`, () => {
    expect(session.inputMetadata).toEqual([
      { name: "x", isTensor: true, type, shape: ["batch", "n"] },
    ]);
    expect(session.outputMetadata).toEqual([
      { name: "y", isTensor: true, type, shape: ["batch", "n"] },
    ]);
  });

  it("returns its edge-value input unchanged, bit for bit", async () => {
    const data = ECHO_CASES[suffix as keyof typeof ECHO_TYPES];
    const x = new ort.Tensor(type, data, [2, 3]);
    const out = await session.run({ x });
    const y = out.y;
    expect(y).toBeInstanceOf(ort.Tensor);
    expect(y?.type).toBe(type);
    expect(y?.dims).toEqual([2, 3]);
    if (Array.isArray(data)) {
      expect(y?.data).toEqual(data);
    } else {
      expect(y?.data).toBeInstanceOf(data.constructor);
      expect(bytesOf(y?.data).equals(bytesOf(data))).toBe(true);
    }
  });

  it("takes any shape for both symbolic dims, including an empty batch", async () => {
    for (const dims of [
      [1, 1],
      [3, 2],
      [0, 5],
    ]) {
      const count = (dims[0] ?? 0) * (dims[1] ?? 0);
      const source = ECHO_CASES[suffix as keyof typeof ECHO_TYPES];
      const data = source.slice(0, count) as typeof source;
      const out = await session.run({ x: new ort.Tensor(type, data, dims) });
      expect(out.y?.dims).toEqual(dims);
      expect(out.y?.size).toBe(count);
    }
  });
});
