/**
 * TensorFlow DataType names (tensorflow/core/framework/types.proto) <-> KServe datatypes. Every KServe datatype
 * has a TensorFlow counterpart; TensorFlow types without one (complex, quantized, resource,
 * variant) make a model unusable through the gateway.
 */
import type { Datatype } from "../../tensor/types.js";

/** The TensorFlow DataType enum name of each KServe datatype. */
export const DT_OF: Readonly<Record<Datatype, string>> = {
  BOOL: "DT_BOOL",
  UINT8: "DT_UINT8",
  UINT16: "DT_UINT16",
  UINT32: "DT_UINT32",
  UINT64: "DT_UINT64",
  INT8: "DT_INT8",
  INT16: "DT_INT16",
  INT32: "DT_INT32",
  INT64: "DT_INT64",
  FP16: "DT_HALF",
  BF16: "DT_BFLOAT16",
  FP32: "DT_FLOAT",
  FP64: "DT_DOUBLE",
  BYTES: "DT_STRING",
};

/** Enum numbers, for answers decoded without enum names. */
const DT_NUMBERS: Readonly<Record<number, string>> = {
  1: "DT_FLOAT",
  2: "DT_DOUBLE",
  3: "DT_INT32",
  4: "DT_UINT8",
  5: "DT_INT16",
  6: "DT_INT8",
  7: "DT_STRING",
  9: "DT_INT64",
  10: "DT_BOOL",
  14: "DT_BFLOAT16",
  17: "DT_UINT16",
  19: "DT_HALF",
  22: "DT_UINT32",
  23: "DT_UINT64",
};

const DATATYPE_OF_DT: ReadonlyMap<string, Datatype> = new Map(
  (Object.entries(DT_OF) as [Datatype, string][]).map(([datatype, dt]) => [dt, datatype]),
);

/** The KServe datatype of a TensorFlow dtype (enum name or number); undefined if it has none. */
export function datatypeOfDt(dtype: unknown): Datatype | undefined {
  const name = typeof dtype === "number" ? DT_NUMBERS[dtype] : dtype;
  return typeof name === "string" ? DATATYPE_OF_DT.get(name) : undefined;
}
