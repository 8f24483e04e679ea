/**
 * KServe v2 `InferTensorContents` facts shared by the gRPC front (decoding clients' typed
 * contents, encoding answers) and the Triton gRPC client (reading answers sent as typed contents).
 */
import type { Datatype } from "../../tensor/index.js";
import type { WireTensorContents } from "./proto.js";

/** One of the repeated fields of `InferTensorContents`. */
export type ContentsField = keyof WireTensorContents;

/** The typed `contents` field of each datatype; FP16 and BF16 have none and travel raw only. */
export const TYPED_FIELD: Readonly<Record<Datatype, ContentsField | undefined>> = {
  BOOL: "bool_contents",
  UINT8: "uint_contents",
  UINT16: "uint_contents",
  UINT32: "uint_contents",
  UINT64: "uint64_contents",
  INT8: "int_contents",
  INT16: "int_contents",
  INT32: "int_contents",
  INT64: "int64_contents",
  FP16: undefined,
  BF16: undefined,
  FP32: "fp32_contents",
  FP64: "fp64_contents",
  BYTES: "bytes_contents",
};

/** Every field of `InferTensorContents`. */
export const CONTENTS_FIELDS: readonly ContentsField[] = [
  "bool_contents",
  "int_contents",
  "int64_contents",
  "uint_contents",
  "uint64_contents",
  "fp32_contents",
  "fp64_contents",
  "bytes_contents",
];

/**
 * `bytes_contents` elements in the raw BYTES layout (a uint32 little-endian length, then the
 * bytes), so they go through the tensor API's raw codec: elements are arbitrary bytes, not
 * necessarily UTF-8, so JSON strings would not carry them.
 */
export function lengthPrefixed(elements: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const e of elements) total += 4 + e.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const e of elements) {
    offset = out.writeUInt32LE(e.length, offset);
    out.set(e, offset);
    offset += e.length;
  }
  return out;
}
