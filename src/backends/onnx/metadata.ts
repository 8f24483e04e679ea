/**
 * Model metadata from an onnxruntime session: names, KServe datatypes and shapes of its inputs
 * and outputs, reported with Triton's platform name for ONNX Runtime.
 */
import type * as ort from "onnxruntime-node";
import type { TensorSpec } from "../../tensor/types.js";
import { datatypeOfOrt } from "./codec.js";

/** Triton's platform string for models served by its onnxruntime backend. */
export const ONNX_PLATFORM = "onnxruntime_onnx";

/** A session value the canonical tensor cannot carry (a sequence, a map, or int4/uint4). */
export interface UnsupportedValue {
  name: string;
  reason: string;
}

/** A session's tensors as TensorSpecs, plus the values that are not representable. */
export interface SessionSpecs {
  specs: TensorSpec[];
  unsupported: UnsupportedValue[];
}

/**
 * ORT reports a dimension as a number when fixed and as its symbolic name (a string, possibly
 * empty) when variable; KServe marks every variable dimension as -1.
 */
export function dimsToShape(dims: ReadonlyArray<number | string>): number[] {
  return dims.map((d) => (typeof d === "number" && Number.isSafeInteger(d) && d >= 0 ? d : -1));
}

/** TensorSpecs for a session's input or output metadata, in the session's order. */
export function specsFromMetadata(
  values: readonly ort.InferenceSession.ValueMetadata[],
): SessionSpecs {
  const specs: TensorSpec[] = [];
  const unsupported: UnsupportedValue[] = [];
  for (const value of values) {
    if (!value.isTensor) {
      unsupported.push({ name: value.name, reason: "it is not a tensor (sequence or map)" });
      continue;
    }
    const datatype = datatypeOfOrt(value.type);
    if (datatype === undefined) {
      unsupported.push({
        name: value.name,
        reason: `element type ${value.type} has no KServe datatype`,
      });
      continue;
    }
    specs.push({ name: value.name, datatype, shape: dimsToShape(value.shape) });
  }
  return { specs, unsupported };
}

/** Compares two version directory names (digits only) numerically, without precision limits. */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
