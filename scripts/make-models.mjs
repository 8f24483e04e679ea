#!/usr/bin/env node
/**
 * Writes the ONNX models the gateway ships, in Triton's repository layout
 * `<outDir>/<model>/<version>/model.onnx`:
 *   iris/1  species classifier trained here on Fisher's iris data (scripts/data/iris.csv)
 *   mlp/1   256 -> 1024 -> 10 MLP with seeded weights, for the benchmarks
 *   ops/1   two inputs, two outputs (a + b, a * b), for tests
 *   echo_<dt>/1  y = Identity(x), x and y [-1, -1] of one element type, one model per datatype
 *
 * Usage: node scripts/make-models.mjs [outDir=models]
 *
 * PyPI (python onnx) is out of reach, so the ModelProto is encoded with protobufjs from
 * scripts/onnx.proto. Output is deterministic: fixed seeds and epochs, no clock, no Math.random,
 * so two runs write byte-identical files (test/models.test.ts checks it).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = protobuf.loadSync(join(here, "onnx.proto"));
const ModelProto = root.lookupType("onnx.ModelProto");

/** ONNX IR version 8 and opset 13: both well inside what onnxruntime 1.30 runs. */
const IR_VERSION = 8;
const OPSET = 13;

/** TensorProto.DataType numbers (onnx.proto). */
const FLOAT = 1;
const UINT8 = 2;
const INT8 = 3;
const UINT16 = 4;
const INT16 = 5;
const INT32 = 6;
const INT64 = 7;
const STRING = 8;
const BOOL = 9;
const FLOAT16 = 10;
const DOUBLE = 11;
const UINT32 = 12;
const UINT64 = 13;

/** AttributeProto.AttributeType numbers (onnx.proto). */
const ATTR_INT = 2;

const SPECIES = ["setosa", "versicolor", "virginica"];

// ---------------------------------------------------------------------------------------------
// Graph building helpers
// ---------------------------------------------------------------------------------------------

/** A float32 initializer stored as little-endian raw bytes. */
function floatTensor(name, dims, values) {
  const data = Float32Array.from(values);
  if (data.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new Error(`initializer ${name}: ${data.length} values for dims ${dims.join("x")}`);
  }
  const raw = new Uint8Array(data.length * 4);
  const view = new DataView(raw.buffer);
  data.forEach((v, i) => {
    view.setFloat32(i * 4, v, true);
  });
  return { name, dims, dataType: FLOAT, rawData: raw };
}

/** A graph input/output; a string dimension is symbolic (reported as -1). */
function valueInfo(name, elemType, dims) {
  const dim = dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

function intAttr(name, value) {
  return { name, type: ATTR_INT, i: value };
}

function node(opType, inputs, outputs, attribute = []) {
  return { opType, input: inputs, output: outputs, name: outputs[0], attribute };
}

function encodeModel({ graphName, doc, nodes, initializers, inputs, outputs, opset = OPSET }) {
  const message = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: "", version: opset }],
    producerName: "infergate/make-models",
    producerVersion: "1",
    docString: doc,
    graph: {
      name: graphName,
      node: nodes,
      initializer: initializers,
      input: inputs,
      output: outputs,
    },
  };
  const problem = ModelProto.verify(message);
  if (problem) throw new Error(`ModelProto: ${problem}`);
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

// ---------------------------------------------------------------------------------------------
// Seeded randomness
// ---------------------------------------------------------------------------------------------

/** mulberry32: a small 32-bit seeded PRNG giving floats in [0, 1). */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// iris: multinomial logistic regression, full-batch gradient descent
// ---------------------------------------------------------------------------------------------

function readIris(path) {
  const lines = readFileSync(path, "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  const [header, ...rows] = lines;
  if (header !== "sepal_length,sepal_width,petal_length,petal_width,species") {
    throw new Error(`${path}: unexpected header "${header}"`);
  }
  const x = [];
  const y = [];
  for (const row of rows) {
    const cells = row.split(",");
    const label = SPECIES.indexOf(cells[4]);
    const features = cells.slice(0, 4).map(Number);
    if (cells.length !== 5 || label < 0 || features.some((v) => !Number.isFinite(v))) {
      throw new Error(`${path}: bad row "${row}"`);
    }
    x.push(features);
    y.push(label);
  }
  return { x, y };
}

const IRIS_EPOCHS = 3000;
const IRIS_EARLY_EPOCHS = 8;
const IRIS_LEARNING_RATE = 0.5;
const IRIS_L2 = 1e-4;

/** Softmax regression on standardised features; returns mean, std, weights [4][3], bias [3]. */
function trainIris({ x, y }, epochs = IRIS_EPOCHS) {
  const n = x.length;
  const f = 4;
  const k = SPECIES.length;
  const mean = Array.from({ length: f }, (_, j) => x.reduce((s, r) => s + r[j], 0) / n);
  const std = Array.from({ length: f }, (_, j) =>
    Math.sqrt(x.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / n),
  );
  const z = x.map((r) => r.map((v, j) => (v - mean[j]) / std[j]));
  // Zero start: no randomness needed, the problem is convex.
  const w = Array.from({ length: f }, () => new Array(k).fill(0));
  const b = new Array(k).fill(0);
  for (let epoch = 0; epoch < epochs; epoch++) {
    const gw = Array.from({ length: f }, () => new Array(k).fill(0));
    const gb = new Array(k).fill(0);
    for (let i = 0; i < n; i++) {
      const p = softmax(logits(z[i], w, b));
      for (let c = 0; c < k; c++) {
        const err = (p[c] - (y[i] === c ? 1 : 0)) / n;
        gb[c] += err;
        for (let j = 0; j < f; j++) gw[j][c] += err * z[i][j];
      }
    }
    for (let c = 0; c < k; c++) {
      b[c] -= IRIS_LEARNING_RATE * gb[c];
      for (let j = 0; j < f; j++) w[j][c] -= IRIS_LEARNING_RATE * (gw[j][c] + IRIS_L2 * w[j][c]);
    }
  }
  return { mean, std, w, b };
}

function logits(features, w, b) {
  return b.map((bias, c) => features.reduce((s, v, j) => s + v * w[j][c], bias));
}

function softmax(values) {
  const max = Math.max(...values);
  const exps = values.map((v) => Math.exp(v - max));
  const total = exps.reduce((s, v) => s + v, 0);
  return exps.map((v) => v / total);
}

function argmax(values) {
  return values.reduce((best, v, i) => (v > values[best] ? i : best), 0);
}

function irisModel(params) {
  const { mean, std, w, b } = params;
  return encodeModel({
    graphName: "iris",
    doc:
      "Iris species classifier (setosa, versicolor, virginica): softmax regression trained by " +
      "scripts/make-models.mjs on Fisher's 150 iris measurements, standardisation in the graph.",
    initializers: [
      floatTensor("feature_mean", [4], mean),
      floatTensor("feature_std", [4], std),
      floatTensor("weights", [4, 3], w.flat()),
      floatTensor("bias", [3], b),
    ],
    nodes: [
      node("Sub", ["input", "feature_mean"], ["centered"]),
      node("Div", ["centered", "feature_std"], ["standardized"]),
      node("Gemm", ["standardized", "weights", "bias"], ["logits"]),
      node("Softmax", ["logits"], ["probabilities"], [intAttr("axis", 1)]),
      node("ArgMax", ["probabilities"], ["label"], [intAttr("axis", 1), intAttr("keepdims", 0)]),
    ],
    inputs: [valueInfo("input", FLOAT, ["batch", 4])],
    outputs: [
      valueInfo("probabilities", FLOAT, ["batch", 3]),
      valueInfo("label", INT64, ["batch"]),
    ],
  });
}

/** Training accuracy with the float32-rounded parameters the model file carries. */
function irisAccuracy({ x, y }, params) {
  const f32 = (v) => Math.fround(v);
  const mean = params.mean.map(f32);
  const std = params.std.map(f32);
  const w = params.w.map((r) => r.map(f32));
  const b = params.b.map(f32);
  let correct = 0;
  x.forEach((row, i) => {
    const z = row.map((v, j) => (v - mean[j]) / std[j]);
    if (argmax(logits(z, w, b)) === y[i]) correct++;
  });
  return correct / x.length;
}

// ---------------------------------------------------------------------------------------------
// mlp: 256 -> 1024 -> 10, seeded He-uniform weights
// ---------------------------------------------------------------------------------------------

const MLP_SEED = 20240601;

/** He-uniform: U(-a, a) with a = sqrt(6 / fanIn), i.e. variance 2 / fanIn. */
function heUniform(rand, fanIn, count) {
  const limit = Math.sqrt(6 / fanIn);
  return Array.from({ length: count }, () => (rand() * 2 - 1) * limit);
}

function mlpModel() {
  const rand = mulberry32(MLP_SEED);
  const [inDim, hidden, outDim] = [256, 1024, 10];
  const w1 = heUniform(rand, inDim, inDim * hidden);
  const b1 = Array.from({ length: hidden }, () => (rand() * 2 - 1) * 0.01);
  const w2 = heUniform(rand, hidden, hidden * outDim);
  const b2 = Array.from({ length: outDim }, () => (rand() * 2 - 1) * 0.01);
  return encodeModel({
    graphName: "mlp",
    doc: "256 -> 1024 -> 10 MLP (Gemm, Relu, Gemm) with seeded He-uniform weights, for benchmarks.",
    initializers: [
      floatTensor("w1", [inDim, hidden], w1),
      floatTensor("b1", [hidden], b1),
      floatTensor("w2", [hidden, outDim], w2),
      floatTensor("b2", [outDim], b2),
    ],
    nodes: [
      node("Gemm", ["input", "w1", "b1"], ["hidden_linear"]),
      node("Relu", ["hidden_linear"], ["hidden"]),
      node("Gemm", ["hidden", "w2", "b2"], ["logits"]),
    ],
    inputs: [valueInfo("input", FLOAT, ["batch", inDim])],
    outputs: [valueInfo("logits", FLOAT, ["batch", outDim])],
  });
}

// ---------------------------------------------------------------------------------------------
// ops: sum and product of two inputs
// ---------------------------------------------------------------------------------------------

function opsModel() {
  return encodeModel({
    graphName: "ops",
    doc: "Two inputs a, b [-1, 4]; outputs sum = a + b and product = a * b. For tests.",
    initializers: [],
    nodes: [node("Add", ["a", "b"], ["sum"]), node("Mul", ["a", "b"], ["product"])],
    inputs: [valueInfo("a", FLOAT, ["batch", 4]), valueInfo("b", FLOAT, ["batch", 4])],
    outputs: [valueInfo("sum", FLOAT, ["batch", 4]), valueInfo("product", FLOAT, ["batch", 4])],
  });
}

/**
 * Triton's example models "simple" (INT32) and "simple_int8" (INT8), used by tritonclient's
 * examples: INPUT0, INPUT1 [-1, 16]; OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1.
 */
function simpleTypedModel(graphName, elemType) {
  return encodeModel({
    graphName,
    doc: `INPUT0, INPUT1 [-1, 16]; OUTPUT0 = sum, OUTPUT1 = difference. Triton's example model.`,
    // Add and Sub take 8- and 16-bit integers from opset 14 on.
    opset: elemType === INT32 ? OPSET : 14,
    initializers: [],
    nodes: [
      node("Add", ["INPUT0", "INPUT1"], ["OUTPUT0"]),
      node("Sub", ["INPUT0", "INPUT1"], ["OUTPUT1"]),
    ],
    inputs: [
      valueInfo("INPUT0", elemType, ["batch", 16]),
      valueInfo("INPUT1", elemType, ["batch", 16]),
    ],
    outputs: [
      valueInfo("OUTPUT0", elemType, ["batch", 16]),
      valueInfo("OUTPUT1", elemType, ["batch", 16]),
    ],
  });
}

/**
 * Triton's example "simple_string": BYTES [-1, 16] inputs holding decimal integers; OUTPUT0 and
 * OUTPUT1 are their sum and difference, as decimal strings (Cast string -> INT32 -> string).
 */
function simpleStringModel() {
  const cast = (from, to, type) => node("Cast", [from], [to], [intAttr("to", type)]);
  return encodeModel({
    graphName: "simple_string",
    doc: "INPUT0, INPUT1 BYTES [-1, 16] of decimal integers; OUTPUT0 = sum, OUTPUT1 = difference, as strings.",
    initializers: [],
    nodes: [
      cast("INPUT0", "a", INT32),
      cast("INPUT1", "b", INT32),
      node("Add", ["a", "b"], ["sum"]),
      node("Sub", ["a", "b"], ["diff"]),
      cast("sum", "OUTPUT0", STRING),
      cast("diff", "OUTPUT1", STRING),
    ],
    inputs: [
      valueInfo("INPUT0", STRING, ["batch", 16]),
      valueInfo("INPUT1", STRING, ["batch", 16]),
    ],
    outputs: [
      valueInfo("OUTPUT0", STRING, ["batch", 16]),
      valueInfo("OUTPUT1", STRING, ["batch", 16]),
    ],
  });
}

/** Triton's example "simple_identity": OUTPUT0 = INPUT0, BYTES [-1, -1]. */
function simpleIdentityModel() {
  return encodeModel({
    graphName: "simple_identity",
    doc: "OUTPUT0 = Identity(INPUT0), BYTES [-1, -1]. Triton's example model.",
    initializers: [],
    nodes: [node("Identity", ["INPUT0"], ["OUTPUT0"])],
    inputs: [valueInfo("INPUT0", STRING, ["batch", "n"])],
    outputs: [valueInfo("OUTPUT0", STRING, ["batch", "n"])],
  });
}

// ---------------------------------------------------------------------------------------------
// echo_<dt>: y = Identity(x), one model per datatype, for the every-datatype round trips
// ---------------------------------------------------------------------------------------------

/** Model name suffix (the gateway's datatype, lower-cased) -> ONNX element type. */
const ECHO_TYPES = [
  ["bool", BOOL],
  ["uint8", UINT8],
  ["uint16", UINT16],
  ["uint32", UINT32],
  ["uint64", UINT64],
  ["int8", INT8],
  ["int16", INT16],
  ["int32", INT32],
  ["int64", INT64],
  ["fp16", FLOAT16],
  ["fp32", FLOAT],
  ["fp64", DOUBLE],
  ["bytes", STRING],
];

function echoModel(suffix, elemType) {
  return encodeModel({
    graphName: `echo_${suffix}`,
    doc: `y = Identity(x), ${suffix.toUpperCase()} [-1, -1]. For every-datatype round-trip tests.`,
    initializers: [],
    nodes: [node("Identity", ["x"], ["y"])],
    inputs: [valueInfo("x", elemType, ["batch", "n"])],
    outputs: [valueInfo("y", elemType, ["batch", "n"])],
  });
}

// ---------------------------------------------------------------------------------------------

function write(outDir, model, bytes) {
  const dir = join(outDir, model, "1");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "model.onnx");
  writeFileSync(file, bytes);
  console.log(`wrote ${file} (${bytes.length} bytes)`);
}

const outDir = resolve(process.argv[2] ?? join(here, "..", "models"));
const iris = readIris(join(here, "data", "iris.csv"));
const irisParams = trainIris(iris);
console.log(
  `iris: training accuracy ${(irisAccuracy(iris, irisParams) * 100).toFixed(2)}% ` +
    `(${iris.x.length} rows, ${IRIS_EPOCHS} epochs)`,
);
write(outDir, "iris", irisModel(irisParams));
// An under-trained iris with the same inputs and outputs: a realistic "other version" that
// computes differently (close probabilities, a few different labels) for shadow and canary tests.
const earlyParams = trainIris(iris, IRIS_EARLY_EPOCHS);
console.log(
  `iris_early: training accuracy ${(irisAccuracy(iris, earlyParams) * 100).toFixed(2)}% (${IRIS_EARLY_EPOCHS} epochs)`,
);
write(outDir, "iris_early", irisModel(earlyParams));
write(outDir, "mlp", mlpModel());
write(outDir, "ops", opsModel());
write(outDir, "simple", simpleTypedModel("simple", INT32));
write(outDir, "simple_int8", simpleTypedModel("simple_int8", INT8));
write(outDir, "simple_string", simpleStringModel());
write(outDir, "simple_identity", simpleIdentityModel());
for (const [suffix, elemType] of ECHO_TYPES)
  write(outDir, `echo_${suffix}`, echoModel(suffix, elemType));
