/**
 * The emulator's own conversion between KServe v2 wire data and onnxruntime tensors: raw
 * little-endian bytes (gRPC raw contents, REST binary extension), JSON `data`, and gRPC typed
 * `contents`. Written independently of src/ so that it checks the adapter's codec rather than
 * sharing its bugs. Byte sizes are checked with Triton's messages.
 */
import * as ort from "onnxruntime-node";
import { invalidArg, TritonError } from "./errors.js";

/** KServe v2 datatype -> onnxruntime element type (BF16 has no node tensor). */
export const ORT_TYPE: Readonly<Record<string, string>> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

/** onnxruntime element type -> KServe v2 datatype. */
export const V2_TYPE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(ORT_TYPE).map(([v2, ortType]) => [ortType, v2]),
);

/** Bytes per element of every KServe v2 datatype; BYTES is variable (0). */
export const ELEMENT_SIZE: Readonly<Record<string, number>> = {
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

type Typed =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

const ARRAY_OF: Readonly<Record<string, (buffer: ArrayBuffer, length: number) => Typed>> = {
  BOOL: (b, n) => new Uint8Array(b, 0, n),
  UINT8: (b, n) => new Uint8Array(b, 0, n),
  UINT16: (b, n) => new Uint16Array(b, 0, n),
  UINT32: (b, n) => new Uint32Array(b, 0, n),
  UINT64: (b, n) => new BigUint64Array(b, 0, n),
  INT8: (b, n) => new Int8Array(b, 0, n),
  INT16: (b, n) => new Int16Array(b, 0, n),
  INT32: (b, n) => new Int32Array(b, 0, n),
  INT64: (b, n) => new BigInt64Array(b, 0, n),
  FP16: (b, n) => new Uint16Array(b, 0, n),
  FP32: (b, n) => new Float32Array(b, 0, n),
  FP64: (b, n) => new Float64Array(b, 0, n),
};

/** Product of the dimensions. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Where a tensor came from, for Triton's messages. */
export interface InputLabel {
  input: string;
  model: string;
}

function make(datatype: string, data: Typed | string[], shape: readonly number[]): ort.Tensor {
  const type = ORT_TYPE[datatype];
  if (type === undefined) throw new TritonError("UNSUPPORTED", `datatype ${datatype} unsupported`);
  return new ort.Tensor(type as "float32", data as Float32Array, [...shape]);
}

/**
 * Raw little-endian bytes as an ORT tensor. Fixed-size types must be exactly shape × size bytes;
 * BYTES must hold exactly the shape's count of well-formed length-prefixed strings.
 */
export function rawToOrt(
  datatype: string,
  shape: readonly number[],
  bytes: Uint8Array,
  at: InputLabel,
): ort.Tensor {
  const count = elementCount(shape);
  if (datatype === "BYTES") return make(datatype, parseStrings(bytes, count, at), shape);
  const expected = count * (ELEMENT_SIZE[datatype] ?? 0);
  if (bytes.byteLength !== expected) {
    throw invalidArg(
      `input byte size mismatch for input '${at.input}' for model '${at.model}'. Expected ${expected}, got ${bytes.byteLength}`,
    );
  }
  // A private aligned copy: the wire buffer may sit at any offset of a pooled Buffer.
  const copy = new ArrayBuffer(expected);
  new Uint8Array(copy).set(bytes);
  const view = ARRAY_OF[datatype];
  if (view === undefined) throw new TritonError("UNSUPPORTED", `datatype ${datatype} unsupported`);
  return make(datatype, view(copy, count), shape);
}

function parseStrings(bytes: Uint8Array, count: number, at: InputLabel): string[] {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: string[] = [];
  let offset = 0;
  while (offset < buf.length) {
    if (buf.length - offset < 4) {
      throw invalidArg(
        `incomplete string length indicator for inference input '${at.input}' for model '${at.model}', expecting 4 bytes but only ${buf.length - offset} bytes available`,
      );
    }
    const length = buf.readUInt32LE(offset);
    offset += 4;
    if (buf.length - offset < length) {
      throw invalidArg(
        `incomplete string data for inference input '${at.input}' for model '${at.model}', expecting string of length ${length} but only ${buf.length - offset} bytes available`,
      );
    }
    if (out.length === count) break;
    out.push(buf.toString("utf8", offset, offset + length));
    offset += length;
  }
  if (out.length !== count || offset !== buf.length) {
    throw invalidArg(
      `expected ${count} string elements for inference input '${at.input}' for model '${at.model}', got ${out.length === count ? "trailing bytes" : out.length}`,
    );
  }
  return out;
}

/** An ORT tensor's elements as raw little-endian bytes (BYTES length-prefixed). */
export function ortToRaw(tensor: ort.Tensor): Buffer {
  const data: unknown = tensor.data;
  if (Array.isArray(data)) {
    const parts: Buffer[] = [];
    for (const s of data as string[]) {
      const bytes = Buffer.from(s, "utf8");
      const prefix = Buffer.allocUnsafe(4);
      prefix.writeUInt32LE(bytes.length, 0);
      parts.push(prefix, bytes);
    }
    return Buffer.concat(parts);
  }
  if (!ArrayBuffer.isView(data)) throw new TritonError("INTERNAL", "unexpected output data");
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Row-major leaves of JSON `data` (flat or nested), bounded by the expected count. */
function flatten(data: unknown, limit: number, at: InputLabel): unknown[] {
  const out: unknown[] = [];
  const stack: unknown[] = [data];
  let steps = 0;
  while (stack.length > 0) {
    if (++steps > 4 * limit + 64) break;
    const v = stack.pop();
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
    } else {
      out.push(v);
      if (out.length > limit) break;
    }
  }
  if (out.length !== limit || stack.length > 0) {
    throw invalidArg(
      `unable to parse 'data' for input '${at.input}' for model '${at.model}': shape does not match true shape of 'data' field`,
    );
  }
  return out;
}

function jsonElement(datatype: string, v: unknown, at: InputLabel): number | bigint | string {
  const bad = () =>
    invalidArg(
      `unable to parse 'data' for input '${at.input}' for model '${at.model}': expected ${datatype} elements, got ${JSON.stringify(v)}`,
    );
  switch (datatype) {
    case "BOOL":
      if (typeof v !== "boolean") throw bad();
      return v ? 1 : 0;
    case "BYTES":
      if (typeof v !== "string") throw bad();
      return v;
    case "FP32":
    case "FP64":
      if (typeof v !== "number") throw bad();
      return v;
    case "INT64":
    case "UINT64":
      if (typeof v !== "number" || !Number.isInteger(v)) throw bad();
      return BigInt(v);
    default:
      if (typeof v !== "number" || !Number.isInteger(v)) throw bad();
      return v;
  }
}

/** JSON `data` as an ORT tensor; FP16/BF16 have no JSON form in Triton. */
export function jsonToOrt(
  datatype: string,
  shape: readonly number[],
  data: unknown,
  at: InputLabel,
): ort.Tensor {
  if (datatype === "FP16" || datatype === "BF16") {
    throw invalidArg(
      `receiving ${datatype} data via JSON is not supported. Please use the binary data format for input '${at.input}'`,
    );
  }
  const values = flatten(data, elementCount(shape), at).map((v) => jsonElement(datatype, v, at));
  return fromValues(datatype, shape, values);
}

function fromValues(
  datatype: string,
  shape: readonly number[],
  values: readonly (number | bigint | string)[],
): ort.Tensor {
  if (datatype === "BYTES") return make(datatype, values as string[], shape);
  const size = ELEMENT_SIZE[datatype] ?? 0;
  const view = ARRAY_OF[datatype];
  if (view === undefined) throw new TritonError("UNSUPPORTED", `datatype ${datatype} unsupported`);
  const array = view(new ArrayBuffer(values.length * size), values.length);
  // Element-wise assignment wraps like a C cast, as Triton's JSON reader does.
  for (let i = 0; i < values.length; i++) (array as unknown as unknown[])[i] = values[i];
  return make(datatype, array, shape);
}

/** gRPC typed contents fields as the emulator's proto loader decodes them. */
export interface TypedContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** gRPC typed `contents` as an ORT tensor; the element count must match the shape. */
export function typedToOrt(
  datatype: string,
  shape: readonly number[],
  contents: TypedContents,
  at: InputLabel,
): ort.Tensor {
  const pick = (): readonly (number | bigint | string)[] | undefined => {
    switch (datatype) {
      case "BOOL":
        return contents.bool_contents?.map((b) => (b ? 1 : 0));
      case "INT8":
      case "INT16":
      case "INT32":
        return contents.int_contents;
      case "UINT8":
      case "UINT16":
      case "UINT32":
        return contents.uint_contents;
      case "INT64":
        return contents.int64_contents?.map((s) => BigInt(s));
      case "UINT64":
        return contents.uint64_contents?.map((s) => BigInt(s));
      case "FP32":
        return contents.fp32_contents;
      case "FP64":
        return contents.fp64_contents;
      case "BYTES":
        return contents.bytes_contents?.map((b) => Buffer.from(b).toString("utf8"));
      default:
        throw invalidArg(
          `${datatype} data for input '${at.input}' for model '${at.model}' must be sent in raw_input_contents`,
        );
    }
  };
  const values = pick() ?? [];
  const expected = elementCount(shape);
  if (values.length !== expected) {
    throw invalidArg(
      `unexpected number of elements for input '${at.input}' for model '${at.model}'. Expected ${expected}, got ${values.length}`,
    );
  }
  return fromValues(datatype, shape, values);
}

/** An ORT tensor's elements as JSON `data` text: exact 64-bit integers, BOOL as true/false. */
export function ortToJsonText(datatype: string, tensor: ort.Tensor): string {
  const data: unknown = tensor.data;
  if (datatype === "FP16" || datatype === "BF16") {
    throw invalidArg(
      `sending ${datatype} data via JSON is not supported. Please use the binary data format for outputs`,
    );
  }
  if (Array.isArray(data)) return JSON.stringify(data);
  if (datatype === "BOOL") return JSON.stringify(Array.from(data as Uint8Array, (v) => v !== 0));
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    return `[${Array.from(data, (v) => v.toString()).join(",")}]`;
  }
  return JSON.stringify(Array.from(data as Float32Array));
}
