/**
 * Canonical tensors <-> onnxruntime-node tensors. Numeric data is handed over without copying where
 * the typed array already matches; BYTES travel as UTF-8 strings because ORT's string tensors hold
 * JavaScript strings.
 */
import { isUtf8 } from "node:buffer";
import * as ort from "onnxruntime-node";
import { BackendError, InvalidRequestError } from "../../errors.js";
import type { Datatype, NamedTensor, Tensor, TensorData } from "../../tensor/types.js";

/** The ORT element types a canonical tensor can become (ORT has no bfloat16 tensor in node). */
export type OrtElementType = Exclude<ort.Tensor.Type, "uint4" | "int4">;

/** KServe v2 datatype -> ORT element type; BF16 is absent because ORT node tensors lack it. */
const TO_ORT: Readonly<Record<Exclude<Datatype, "BF16">, OrtElementType>> = {
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

/** ORT element type -> KServe v2 datatype. */
const FROM_ORT: Readonly<Record<OrtElementType, Exclude<Datatype, "BF16">>> = {
  bool: "BOOL",
  uint8: "UINT8",
  uint16: "UINT16",
  uint32: "UINT32",
  uint64: "UINT64",
  int8: "INT8",
  int16: "INT16",
  int32: "INT32",
  int64: "INT64",
  float16: "FP16",
  float32: "FP32",
  float64: "FP64",
  string: "BYTES",
};

/** The datatypes this backend can carry, in KServe table order. */
export const SUPPORTED_DATATYPES: readonly Datatype[] = Object.keys(TO_ORT) as Datatype[];

/** The canonical datatype of an ORT element type, or undefined when it has none (int4, uint4). */
export function datatypeOfOrt(type: string): Datatype | undefined {
  return Object.hasOwn(FROM_ORT, type) ? FROM_ORT[type as OrtElementType] : undefined;
}

/** The ORT element type for a canonical datatype; BF16 is an InvalidRequestError. */
export function ortTypeOf(datatype: Datatype): OrtElementType {
  if (datatype === "BF16") {
    throw new InvalidRequestError("datatype BF16 is not supported by the onnx backend");
  }
  return TO_ORT[datatype];
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

function checkShape(shape: readonly number[], length: number, what: string): void {
  let count = 1;
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new InvalidRequestError(`${what}: invalid dimension ${dim} in shape [${shape}]`);
    }
    count *= dim;
  }
  if (count !== length) {
    throw new InvalidRequestError(
      `${what}: shape [${shape}] needs ${count} elements, got ${length}`,
    );
  }
}

function byteStrings(data: TensorData, what: string): Uint8Array[] {
  if (!Array.isArray(data))
    throw new InvalidRequestError(`${what}: BYTES data must be byte strings`);
  return data;
}

/**
 * onnxruntime-node hands string elements to C++ as NUL-terminated strings, so an element is cut
 * at its first NUL byte ("he\0llo" comes back "he"): refused instead of silently changed.
 */
function checkNoNul(bytes: Uint8Array, i: number, what: string): void {
  if (bytes.indexOf(0) >= 0) {
    throw new InvalidRequestError(
      `${what}: element ${i} holds a NUL byte, which onnxruntime string tensors cannot hold ` +
        "(they end at the first NUL)",
    );
  }
}

function decodeStrings(data: TensorData, what: string): string[] {
  return byteStrings(data, what).map((bytes, i) => {
    checkNoNul(bytes, i, what);
    try {
      return utf8Decoder.decode(bytes);
    } catch (err) {
      throw new InvalidRequestError(`${what}: element ${i} is not valid UTF-8`, { cause: err });
    }
  });
}

/**
 * Throws what toOrtTensor throws for bad client input (BF16, BYTES that are not UTF-8 or hold a
 * NUL byte, data whose
 * length does not match the shape) without building the ORT tensor: for checking on the main
 * thread a call that a worker thread will convert.
 */
export function checkOrtInput(tensor: Tensor, what = "tensor"): void {
  const type = ortTypeOf(tensor.datatype);
  checkShape(tensor.shape, tensor.data.length, what);
  if (type !== "string") return;
  byteStrings(tensor.data, what).forEach((bytes, i) => {
    if (!isUtf8(bytes)) throw new InvalidRequestError(`${what}: element ${i} is not valid UTF-8`);
    checkNoNul(bytes, i, what);
  });
}

/**
 * A canonical tensor as an ORT tensor. Throws InvalidRequestError for BF16, BYTES that are not
 * UTF-8 or hold a NUL byte, and data whose length does not match the shape.
 */
export function toOrtTensor(tensor: Tensor, what = "tensor"): ort.Tensor {
  const type = ortTypeOf(tensor.datatype);
  checkShape(tensor.shape, tensor.data.length, what);
  const dims = [...tensor.shape];
  try {
    if (type === "string") return new ort.Tensor("string", decodeStrings(tensor.data, what), dims);
    // The typed array matches the datatype by the canonical contract; ORT checks the pairing too
    // and its complaint becomes an InvalidRequestError below.
    return new ort.Tensor(type, tensor.data as Exclude<TensorData, Uint8Array[]>, dims);
  } catch (err) {
    if (err instanceof InvalidRequestError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new InvalidRequestError(`${what}: ${message}`, { cause: err });
  }
}

/** 16-bit element bits, whatever view ORT chose for float16 (Uint16Array, or Float16Array). */
function halfBits(data: unknown): Uint16Array | undefined {
  if (data instanceof Uint16Array) return data;
  if (ArrayBuffer.isView(data) && !(data instanceof DataView) && "BYTES_PER_ELEMENT" in data) {
    if (data.BYTES_PER_ELEMENT === 2) {
      return new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2);
    }
  }
  return undefined;
}

/** The canonical data of an ORT tensor's data, checked against its element type. */
function canonicalData(datatype: Datatype, data: unknown): TensorData | undefined {
  switch (datatype) {
    case "BYTES":
      return Array.isArray(data) && data.every((s) => typeof s === "string")
        ? data.map((s: string) => utf8Encoder.encode(s))
        : undefined;
    case "FP16":
      return halfBits(data);
    case "BOOL":
    case "UINT8":
      return data instanceof Uint8Array ? data : undefined;
    case "UINT16":
      return data instanceof Uint16Array ? data : undefined;
    case "UINT32":
      return data instanceof Uint32Array ? data : undefined;
    case "UINT64":
      return data instanceof BigUint64Array ? data : undefined;
    case "INT8":
      return data instanceof Int8Array ? data : undefined;
    case "INT16":
      return data instanceof Int16Array ? data : undefined;
    case "INT32":
      return data instanceof Int32Array ? data : undefined;
    case "INT64":
      return data instanceof BigInt64Array ? data : undefined;
    case "FP32":
      return data instanceof Float32Array ? data : undefined;
    case "FP64":
      return data instanceof Float64Array ? data : undefined;
    case "BF16":
      return undefined;
  }
}

/**
 * An ORT tensor (a session's output) as a named canonical tensor. What ORT hands back is not the
 * client's doing, so anything unexpected is a BackendError.
 */
export function fromOrtTensor(name: string, value: ort.Tensor): NamedTensor {
  const datatype = datatypeOfOrt(value.type);
  if (datatype === undefined) {
    throw new BackendError(
      `output "${name}" has element type ${value.type}, which has no KServe datatype`,
    );
  }
  const data = canonicalData(datatype, value.data);
  const shape = [...value.dims];
  const count = shape.reduce((a, b) => a * b, 1);
  if (data === undefined || data.length !== count) {
    throw new BackendError(
      `output "${name}": onnxruntime returned data that does not match ${value.type}[${shape}]`,
    );
  }
  return { name, datatype, shape, data };
}
