/**
 * The models of the HTTP fronts' test double (FakeService's default table): a few small models
 * with real arithmetic so tests can check that tensors travel both ways, plus a model whose
 * versions throw each GatewayError.
 */
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  InternalError,
  InvalidRequestError,
  OverloadedError,
} from "../../src/errors.js";
import type { NamedTensor } from "../../src/tensor/types.js";
import type { FakeModel } from "./fake-service.js";

function input(inputs: Map<string, NamedTensor>, name: string): NamedTensor {
  const tensor = inputs.get(name);
  if (tensor === undefined) throw new InvalidRequestError(`missing input "${name}"`);
  return tensor;
}

function float32(tensor: NamedTensor): Float32Array {
  if (!(tensor.data instanceof Float32Array))
    throw new InvalidRequestError(`"${tensor.name}" must be FP32`);
  return tensor.data;
}

const FAILURES: Record<string, () => Error> = {
  overloaded: () => new OverloadedError("queue full", 2),
  unavailable: () => new BackendUnavailableError("every target is down"),
  timeout: () => new BackendTimeoutError("deadline passed after 300 ms"),
  backend: () => new BackendError("backend answered 500"),
  internal: () => new InternalError(new Error("secret internal detail")),
  crash: () => new TypeError("secret crash detail"),
  invalid: () => new InvalidRequestError("backend says: wrong shape"),
};

/** The HTTP fronts' models: real arithmetic both ways, and a model whose versions throw each error. */
export const HTTP_MODELS: Record<string, FakeModel> = {
  iris: {
    versions: { "1": { backend: "local" }, "2": { backend: "tfs", fallback: true } },
    labels: { stable: "1", canary: "2" },
    default: "1",
    inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      { name: "rowsum", datatype: "FP32", shape: [-1] },
    ],
    run: (inputs) => {
      const x = input(inputs, "features");
      const data = float32(x);
      const rows = x.shape[0] ?? 0;
      const probabilities = new Float32Array(rows * 3);
      const rowsum = new Float32Array(rows);
      for (let r = 0; r < rows; r++) {
        probabilities.set([0.5, 0.25, 0.25], r * 3);
        let sum = 0;
        for (let k = 0; k < 4; k++) sum += data[r * 4 + k] ?? 0;
        rowsum[r] = sum;
      }
      return [
        { name: "probabilities", datatype: "FP32", shape: [rows, 3], data: probabilities },
        { name: "rowsum", datatype: "FP32", shape: [rows], data: rowsum },
      ];
    },
  },
  double: {
    versions: { "1": { backend: "triton" } },
    default: "1",
    inputs: [
      { name: "a", datatype: "INT64", shape: [-1] },
      { name: "b", datatype: "INT64", shape: [-1] },
    ],
    outputs: [{ name: "sum", datatype: "INT64", shape: [-1] }],
    run: (inputs) => {
      const a = input(inputs, "a");
      const b = input(inputs, "b");
      if (!(a.data instanceof BigInt64Array) || !(b.data instanceof BigInt64Array)) {
        throw new InvalidRequestError("a and b must be INT64");
      }
      const sum = new BigInt64Array(a.data.length);
      for (let i = 0; i < sum.length; i++) sum[i] = (a.data[i] ?? 0n) + (b.data[i] ?? 0n);
      return [{ name: "sum", datatype: "INT64", shape: [...a.shape], data: sum }];
    },
  },
  pixels: {
    versions: { "1": { backend: "local" } },
    default: "1",
    inputs: [{ name: "img", datatype: "UINT8", shape: [-1] }],
    outputs: [{ name: "total", datatype: "INT32", shape: [1] }],
    run: (inputs) => {
      const img = input(inputs, "img");
      let total = 0;
      for (const v of img.data as Uint8Array) total += v;
      return [{ name: "total", datatype: "INT32", shape: [1], data: Int32Array.of(total) }];
    },
  },
  half: {
    versions: { "1": { backend: "triton" } },
    default: "1",
    inputs: [{ name: "x", datatype: "FP16", shape: [-1] }],
    outputs: [{ name: "y", datatype: "FP16", shape: [-1] }],
    run: (inputs) => {
      const x = input(inputs, "x");
      return [{ name: "y", datatype: "FP16", shape: [...x.shape], data: x.data }];
    },
  },
  echo: {
    versions: { "1": { backend: "torch" } },
    default: "1",
    inputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
    outputs: [{ name: "text", datatype: "BYTES", shape: [-1] }],
    run: (inputs) => {
      const text = input(inputs, "text");
      return [{ name: "text", datatype: "BYTES", shape: [...text.shape], data: text.data }];
    },
  },
  // An input named "data": an inputs object {"data": ...} must not be taken for an explicit tensor.
  named: {
    versions: { "1": { backend: "local" } },
    default: "1",
    inputs: [{ name: "data", datatype: "FP32", shape: [-1] }],
    outputs: [{ name: "out", datatype: "FP32", shape: [-1] }],
    run: (inputs) => {
      const x = input(inputs, "data");
      return [{ name: "out", datatype: "FP32", shape: [...x.shape], data: float32(x) }];
    },
  },
  fail: {
    versions: Object.fromEntries(Object.keys(FAILURES).map((v) => [v, { backend: "tfs" }])),
    default: "overloaded",
    inputs: [{ name: "x", datatype: "FP32", shape: [-1] }],
    outputs: [{ name: "y", datatype: "FP32", shape: [-1] }],
    run: (_inputs, version) => {
      const failure = FAILURES[version];
      throw failure === undefined ? new TypeError(`no failure "${version}"`) : failure();
    },
  },
};
