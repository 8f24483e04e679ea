/**
 * CONTRACT STUB — the tensor helper replaces these bodies with the real implementation (in files of
 * their own, re-exported from here). Signatures are fixed: other modules already import them.
 * Every function throws InvalidRequestError (src/errors.ts) for bad client input.
 */
import type { Datatype, Tensor } from "./types.js";

export * from "./types.js";

const todo = (): never => {
  throw new Error("tensor: not implemented yet");
};

/** Bytes per element of a fixed-size datatype; 0 for BYTES. */
export function elementSize(_datatype: Datatype): number {
  return todo();
}
/** Product of a shape's dimensions (1 for a scalar shape `[]`). */
export function elementCount(_shape: readonly number[]): number {
  return todo();
}
/** True when the value is a KServe v2 datatype name. */
export function isDatatype(_value: unknown): _value is Datatype {
  return todo();
}
/**
 * A nested JSON array (or a scalar) as a tensor. The shape comes from the nesting; the datatype is
 * the given one (from model metadata) or inferred: numbers FP32, booleans BOOL, strings BYTES.
 * Ragged arrays, mixed element kinds, non-integers for integer types and out-of-range values
 * (300 is not a UINT8) are rejected.
 */
export function tensorFromNested(_value: unknown, _datatype?: Datatype): Tensor {
  return todo();
}
/** An explicit `{datatype, shape, data}` (data nested or flat, row-major) as a tensor. */
export function tensorFromJsonData(_datatype: Datatype, _shape: readonly number[], _data: unknown): Tensor {
  return todo();
}
/** A tensor as nested JSON arrays of its real shape (BYTES as UTF-8 strings). */
export function tensorToNested(_tensor: Tensor): unknown {
  return todo();
}
/** A tensor's data as a flat JSON array (KServe v2 JSON `data`). */
export function tensorToFlatJson(_tensor: Tensor): unknown[] {
  return todo();
}
/** Little-endian row-major bytes; BYTES elements as a uint32 LE length followed by the bytes. */
export function tensorToRaw(_tensor: Tensor): Uint8Array {
  return todo();
}
/** Raw little-endian bytes as a tensor; the byte length must match shape × datatype exactly. */
export function tensorFromRaw(_datatype: Datatype, _shape: readonly number[], _bytes: Uint8Array): Tensor {
  return todo();
}
/** Concatenates tensors of one datatype and equal trailing dimensions along dimension 0. */
export function concatDim0(_tensors: readonly Tensor[]): Tensor {
  return todo();
}
/** Splits a tensor along dimension 0 into parts of the given first-dimension sizes. */
export function splitDim0(_tensor: Tensor, _sizes: readonly number[]): Tensor[] {
  return todo();
}
