/**
 * What a TorchServe target declares for each shipped model (TorchServe publishes no metadata):
 * the ONNX models' own tensors, as models/README.md lists them.
 */
import type { Datatype, TensorSpec } from "../../src/tensor/index.js";

/**
 * Datatypes the TorchServe JSON convention (docs/backends.md) carries end to end (JSON numbers,
 * booleans, strings).
 */
export const TORCHSERVE_DATATYPES: Datatype[] = [
  "BOOL",
  "UINT8",
  "UINT16",
  "UINT32",
  "UINT64",
  "INT8",
  "INT16",
  "INT32",
  "INT64",
  "FP16",
  "FP32",
  "FP64",
  "BYTES",
];

const DECLARED: Record<string, { inputs: TensorSpec[]; outputs: TensorSpec[] }> = {
  iris: {
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
    outputs: [
      { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
      { name: "label", datatype: "INT64", shape: [-1] },
    ],
  },
  mlp: {
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, 256] }],
    outputs: [{ name: "logits", datatype: "FP32", shape: [-1, 10] }],
  },
  ops: {
    inputs: [
      { name: "a", datatype: "FP32", shape: [-1, 4] },
      { name: "b", datatype: "FP32", shape: [-1, 4] },
    ],
    outputs: [
      { name: "sum", datatype: "FP32", shape: [-1, 4] },
      { name: "product", datatype: "FP32", shape: [-1, 4] },
    ],
  },
};

/** The declared tensors of a shipped model (echo_<dt>: `x` -> `y`, [-1,-1]); undefined if unknown. */
export function declareTorchServe(
  model: string,
): { inputs: TensorSpec[]; outputs: TensorSpec[] } | undefined {
  const known = DECLARED[model];
  if (known !== undefined) return known;
  const dt = TORCHSERVE_DATATYPES.find((d) => model === `echo_${d.toLowerCase()}`);
  if (dt === undefined) return undefined;
  return {
    inputs: [{ name: "x", datatype: dt, shape: [-1, -1] }],
    outputs: [{ name: "y", datatype: dt, shape: [-1, -1] }],
  };
}
