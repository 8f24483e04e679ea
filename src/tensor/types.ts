/**
 * The one canonical tensor every front and backend speaks through: a KServe v2 datatype, a shape
 * and flat row-major typed data.
 */

/** Every KServe v2 datatype, in the order of the protocol's table. */
export const DATATYPES = [
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
  "BF16",
  "FP32",
  "FP64",
  "BYTES",
] as const;

/** A KServe v2 datatype name. */
export type Datatype = (typeof DATATYPES)[number];

/**
 * Flat row-major storage per datatype:
 * BOOL Uint8Array (0/1) · UINT8 Uint8Array · UINT16 Uint16Array · UINT32 Uint32Array ·
 * UINT64 BigUint64Array · INT8 Int8Array · INT16 Int16Array · INT32 Int32Array ·
 * INT64 BigInt64Array · FP16 Uint16Array (IEEE 754 half bits) · BF16 Uint16Array (bfloat16 bits) ·
 * FP32 Float32Array · FP64 Float64Array · BYTES Uint8Array[] (one byte string per element).
 */
export interface DataByType {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  BF16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: Uint8Array[];
}

/** Any tensor's flat data. */
export type TensorData = DataByType[Datatype];

/** A canonical tensor: `data.length` always equals the product of `shape`. */
export interface Tensor {
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** A tensor with the input or output name it travels under. */
export interface NamedTensor extends Tensor {
  readonly name: string;
}

/** A tensor's declared or reported schema; `-1` marks a variable dimension. */
export interface TensorSpec {
  name: string;
  datatype: Datatype;
  shape: number[];
}
