/**
 * Canonical tensors <-> `tensorflow.TensorProto`. Requests carry numeric tensors as
 * `tensor_content` (little-endian row-major, the raw codec's format) and DT_STRING as
 * `string_val`. Answers are read from `tensor_content` or from the typed `*_val` field, which is
 * what TF Serving usually sends (`Tensor::AsProtoField`), following TensorFlow's FromProto rule:
 * fewer values than elements repeat the last one (none = zeros).
 */
import { BackendError, GatewayError } from "../../errors.js";
import { elementSize, emptyData, tensorFromRaw, tensorToRaw } from "../../tensor/index.js";
import type { Datatype, NamedTensor, Tensor, TensorData } from "../../tensor/types.js";
import { DT_OF, datatypeOfDt } from "./dtypes.js";
import type { WireTensorProto } from "./proto.js";

/** Largest answer tensor accepted, in bytes of storage (a repeated-value answer can claim any shape). */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/** A tensor as a TensorProto. Numeric contents are a view of the tensor's storage (no copy). */
export function toTensorProto(tensor: Tensor): WireTensorProto {
  const proto: WireTensorProto = {
    dtype: DT_OF[tensor.datatype],
    tensor_shape: { dim: tensor.shape.map((size) => ({ size })) },
  };
  // Buffer views: protobufjs copies a Buffer in one call, a plain Uint8Array byte by byte.
  if (Array.isArray(tensor.data)) proto.string_val = tensor.data.map(asBuffer);
  else proto.tensor_content = asBuffer(tensorToRaw(tensor));
  return proto;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function shapeOf(proto: WireTensorProto, where: string): number[] {
  const shape = proto.tensor_shape;
  if (shape === null || shape.unknown_rank === true) {
    throw new BackendError(`${where} has no known shape`);
  }
  return shape.dim.map((d) => {
    const size = Number(d.size);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new BackendError(`${where} has a bad dimension ${String(d.size)}`);
    }
    return size;
  });
}

/** The typed `*_val` values of a datatype, as they were decoded. */
function valuesOf(proto: WireTensorProto, datatype: Datatype): readonly unknown[] {
  switch (datatype) {
    case "FP32":
      return proto.float_val ?? [];
    case "FP64":
      return proto.double_val ?? [];
    case "INT8":
    case "INT16":
    case "INT32":
    case "UINT8":
    case "UINT16":
      return proto.int_val ?? [];
    case "INT64":
      return proto.int64_val ?? [];
    case "UINT64":
      return proto.uint64_val ?? [];
    case "UINT32":
      return proto.uint32_val ?? [];
    case "BOOL":
      return proto.bool_val ?? [];
    case "FP16":
    case "BF16":
      return proto.half_val ?? [];
    case "BYTES":
      return proto.string_val ?? [];
  }
}

/** Fills storage from `*_val` values, repeating the last one past their end. */
function fillFromValues(datatype: Datatype, values: readonly unknown[], count: number): TensorData {
  if (datatype === "BYTES") {
    const out = new Array<Uint8Array>(count);
    const empty = new Uint8Array(0);
    for (let i = 0; i < count; i++) {
      const v = values[Math.min(i, values.length - 1)];
      out[i] = v instanceof Uint8Array ? v : empty;
    }
    return out;
  }
  const out = emptyData(datatype, count);
  if (values.length === 0) return out;
  const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
  for (let i = 0; i < count; i++) {
    const v = values[i < values.length ? i : values.length - 1];
    if (big) (out as BigInt64Array | BigUint64Array)[i] = BigInt(String(v));
    else if (datatype === "BOOL") (out as Uint8Array)[i] = v === true ? 1 : 0;
    else if (datatype === "FP16" || datatype === "BF16")
      (out as Uint16Array)[i] = Number(v) & 0xffff;
    else (out as Exclude<TensorData, Uint8Array[] | BigInt64Array | BigUint64Array>)[i] = Number(v);
  }
  return out;
}

/** An answer's TensorProto as a named tensor; a malformed one is the backend's fault. */
export function fromTensorProto(
  backend: string,
  name: string,
  proto: WireTensorProto,
): NamedTensor {
  const where = `backend "${backend}" output "${name}"`;
  const datatype = datatypeOfDt(proto.dtype);
  if (datatype === undefined) {
    throw new BackendError(
      `${where} has dtype ${String(proto.dtype)}, which has no KServe datatype`,
    );
  }
  const shape = shapeOf(proto, where);
  let count = 1;
  for (const d of shape) count *= d;
  if (count * Math.max(elementSize(datatype), 8) > MAX_ANSWER_BYTES) {
    throw new BackendError(`${where} claims shape [${shape.join(",")}], too large`);
  }
  const content = proto.tensor_content;
  if (content !== undefined && content.byteLength > 0) {
    try {
      return { name, ...tensorFromRaw(datatype, shape, content) };
    } catch (err) {
      const why = err instanceof GatewayError ? err.message : String(err);
      throw new BackendError(`${where}: ${why}`, { cause: err });
    }
  }
  const values = valuesOf(proto, datatype);
  if (values.length > count) {
    throw new BackendError(`${where} has ${values.length} values for ${count} elements`);
  }
  return { name, datatype, shape, data: fillFromValues(datatype, values, count) };
}
