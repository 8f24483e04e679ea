/**
 * Facts about KServe v2 datatypes and shapes: element sizes, integer ranges, storage allocation
 * and the shape checks every client-facing constructor shares.
 */
import { InvalidRequestError } from "../errors.js";
import {
  DATATYPES,
  type DataByType,
  type Datatype,
  type Tensor,
  type TensorData,
} from "./types.js";

/** Bytes per element of each datatype (KServe v2 table); 0 for the variable-size BYTES. */
const ELEMENT_SIZES: Readonly<Record<Datatype, number>> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP16: 2,
  BF16: 2,
  FP32: 4,
  FP64: 8,
  BYTES: 0,
};

/** Every datatype with a fixed element size (all but BYTES). */
export type FixedDatatype = Exclude<Datatype, "BYTES">;

/** Storage of a fixed-size datatype: a typed array. */
export type FixedData = DataByType[FixedDatatype];

/** The highest tensor rank the gateway accepts from a client. */
export const MAX_RANK = 32;

/**
 * The most empty sub-arrays a zero-element shape may imply (e.g. `[1e9, 0]` would print as a
 * billion `[]`s): such a shape costs memory without any data to bound it, so it is refused.
 */
export const MAX_EMPTY_ROWS = 1 << 16;

const DATATYPE_SET: ReadonlySet<string> = new Set<string>(DATATYPES);

/** Bytes per element of a fixed-size datatype; 0 for BYTES. */
export function elementSize(datatype: Datatype): number {
  return ELEMENT_SIZES[datatype];
}

/** Product of a shape's dimensions (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i] ?? 0;
  return n;
}

/** True when the value is a KServe v2 datatype name. */
export function isDatatype(value: unknown): value is Datatype {
  return typeof value === "string" && DATATYPE_SET.has(value);
}

/** Inclusive value range of the integer datatypes that fit a JS number exactly. */
export const INTEGER_RANGES = {
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
} as const satisfies Partial<Record<Datatype, readonly [number, number]>>;

/** Inclusive value range of the 64-bit integer datatypes, as BigInts. */
export const INT64_RANGES = {
  UINT64: [0n, 0xffff_ffff_ffff_ffffn],
  INT64: [-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn],
} as const satisfies Partial<Record<Datatype, readonly [bigint, bigint]>>;

const EMPTY_BYTES = new Uint8Array(0);

/**
 * Zero-filled storage for `n` elements of a datatype (see `DataByType`); BYTES elements are empty
 * byte strings (one shared zero-length array, which nothing can write into).
 */
export function emptyData<D extends Datatype>(datatype: D, n: number): DataByType[D] {
  const data: TensorData = allocate(datatype, n);
  // `allocate` switches on the same datatype, so the storage matches DataByType[D].
  return data as DataByType[D];
}

function allocate(datatype: Datatype, n: number): TensorData {
  switch (datatype) {
    case "BOOL":
    case "UINT8":
      return new Uint8Array(n);
    case "UINT16":
    case "FP16":
    case "BF16":
      return new Uint16Array(n);
    case "UINT32":
      return new Uint32Array(n);
    case "UINT64":
      return new BigUint64Array(n);
    case "INT8":
      return new Int8Array(n);
    case "INT16":
      return new Int16Array(n);
    case "INT32":
      return new Int32Array(n);
    case "INT64":
      return new BigInt64Array(n);
    case "FP32":
      return new Float32Array(n);
    case "FP64":
      return new Float64Array(n);
    case "BYTES":
      return new Array<Uint8Array>(n).fill(EMPTY_BYTES);
  }
}

/** The bytes behind typed storage, as a view (no copy). */
export function byteView(data: FixedData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Size of a tensor in its raw (KServe v2 binary / gRPC raw contents) form: elements × size, or
 * for BYTES the sum of 4-byte length prefixes and element bytes.
 */
export function tensorByteLength(tensor: Tensor): number {
  const { data } = tensor;
  if (Array.isArray(data)) {
    let n = 0;
    for (let i = 0; i < data.length; i++) n += 4 + (data[i]?.length ?? 0);
    return n;
  }
  return data.byteLength;
}

/** A shape as text for messages, e.g. `[2,3]`. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/**
 * Checks a client-supplied shape (dimensions are non-negative safe integers, rank at most
 * MAX_RANK, element count a safe integer, zero-element shapes imply at most MAX_EMPTY_ROWS empty
 * rows) and returns its element count. Throws InvalidRequestError naming the problem.
 */
export function checkShape(shape: unknown): number {
  if (!Array.isArray(shape)) throw new InvalidRequestError("shape must be an array of integers");
  if (shape.length > MAX_RANK) {
    throw new InvalidRequestError(`shape has rank ${shape.length}; at most ${MAX_RANK} allowed`);
  }
  let count = 1;
  let rows = 1;
  let sawZero = false;
  for (let i = 0; i < shape.length; i++) {
    const dim: unknown = shape[i];
    if (typeof dim !== "number" || !Number.isSafeInteger(dim) || dim < 0) {
      throw new InvalidRequestError(
        `shape dimension ${i} must be a non-negative integer, got ${JSON.stringify(dim) ?? String(dim)}`,
      );
    }
    count *= dim;
    if (dim === 0) sawZero = true;
    else if (!sawZero) rows *= dim;
  }
  if (!Number.isSafeInteger(count)) {
    throw new InvalidRequestError(`shape ${formatShape(shape)} has too many elements`);
  }
  if (sawZero && rows > MAX_EMPTY_ROWS) {
    throw new InvalidRequestError(
      `shape ${formatShape(shape)} implies ${rows} empty rows; at most ${MAX_EMPTY_ROWS} allowed`,
    );
  }
  return count;
}

/** Throws InvalidRequestError unless the value is a KServe v2 datatype name. */
export function checkDatatype(value: unknown): Datatype {
  if (isDatatype(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 40)) : typeof value;
  throw new InvalidRequestError(
    `unknown datatype ${shown}; expected one of ${DATATYPES.join(", ")}`,
  );
}
