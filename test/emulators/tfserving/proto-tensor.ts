/**
 * TensorProto <-> onnxruntime tensors as TF Serving's gRPC Predict does it (Tensor::FromProto and
 * Tensor::AsProtoField): a request tensor holds either `tensor_content` (exactly shape × size
 * little-endian bytes) or the dtype's `*_val` field (fewer values than elements repeat the last
 * one, none means zeros, extra values are ignored); answers use the `*_val` fields unless asked
 * for `tensor_content`.
 */
import * as ort from "onnxruntime-node";
import { CONTENT_SIZE, ORT_OF_DT, storageFor } from "./dtypes.js";
import { invalidArgument } from "./errors.js";

/** A decoded TensorProto (keepCase, longs String, enums String, bytes Buffer, defaults). */
export interface TensorProtoMessage {
  dtype: string;
  tensor_shape: { dim: { size: string }[]; unknown_rank: boolean } | null;
  tensor_content: Buffer;
  half_val: number[];
  float_val: number[];
  double_val: number[];
  int_val: number[];
  string_val: Buffer[];
  int64_val: string[];
  bool_val: boolean[];
  uint32_val: number[];
  uint64_val: string[];
  scomplex_val: number[];
  dcomplex_val: number[];
}

const VAL_FIELD: Readonly<Record<string, keyof TensorProtoMessage>> = {
  DT_FLOAT: "float_val",
  DT_DOUBLE: "double_val",
  DT_INT8: "int_val",
  DT_INT16: "int_val",
  DT_INT32: "int_val",
  DT_UINT8: "int_val",
  DT_UINT16: "int_val",
  DT_INT64: "int64_val",
  DT_UINT32: "uint32_val",
  DT_UINT64: "uint64_val",
  DT_BOOL: "bool_val",
  DT_HALF: "half_val",
  DT_BFLOAT16: "half_val",
  DT_STRING: "string_val",
};

const ALL_VAL_FIELDS = [
  ...new Set(Object.values(VAL_FIELD)),
  "scomplex_val",
  "dcomplex_val",
] as const;

/** The shape of a request tensor, or undefined when it is not a valid dense shape. */
export function protoShape(proto: TensorProtoMessage): number[] | undefined {
  const shape = proto.tensor_shape;
  if (shape === null || shape.unknown_rank) return undefined;
  const dims = shape.dim.map((d) => Number(d.size));
  return dims.every((d) => Number.isSafeInteger(d) && d >= 0) ? dims : undefined;
}

/** Tensor::FromProto for a request input; INVALID_ARGUMENT "tensor parsing error" on failure. */
export function ortFromProto(alias: string, proto: TensorProtoMessage): ort.Tensor {
  const parsingError = () => invalidArgument(`tensor parsing error: ${alias}`);
  const dt = proto.dtype;
  const ortType = ORT_OF_DT[dt];
  const shape = protoShape(proto);
  if (ortType === undefined || shape === undefined) throw parsingError();
  let count = 1;
  for (const d of shape) count *= d;
  if (count > 64 * 1024 * 1024) throw parsingError();
  const content = proto.tensor_content;
  const hasContent = content.byteLength > 0;
  const hasValues = ALL_VAL_FIELDS.some((f) => (proto[f] as unknown[]).length > 0);
  if (hasContent && hasValues) throw parsingError();
  if (dt === "DT_STRING") {
    if (hasContent) throw parsingError();
    const values = proto.string_val;
    const out = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const v = values.length === 0 ? undefined : values[Math.min(i, values.length - 1)];
      out[i] = v === undefined ? "" : v.toString("utf8");
    }
    return new ort.Tensor("string", out, shape);
  }
  const out = storageFor(dt, count);
  if (hasContent) {
    if (content.byteLength !== count * (CONTENT_SIZE[dt] ?? 0)) throw parsingError();
    new Uint8Array(out.buffer).set(content);
  } else {
    const field = VAL_FIELD[dt];
    const values = (field === undefined ? [] : proto[field]) as unknown[];
    const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
    for (let i = 0; i < count && values.length > 0; i++) {
      const v = values[Math.min(i, values.length - 1)];
      if (big) (out as BigInt64Array)[i] = BigInt(String(v));
      else if (typeof v === "boolean") (out as Uint8Array)[i] = v ? 1 : 0;
      else (out as Float32Array)[i] = Number(v);
    }
  }
  return new ort.Tensor(ortType as "float32", out as Float32Array, shape);
}

/** Tensor::AsProtoField (or AsProtoTensorContent when `content`) for an answer. */
export function protoFromOrt(tensor: ort.Tensor, dt: string, content: boolean): object {
  const proto: Record<string, unknown> = {
    dtype: dt,
    tensor_shape: { dim: tensor.dims.map((size) => ({ size })) },
  };
  const data = tensor.data;
  if (tensor.type === "string") {
    proto.string_val = (data as string[]).map((s) => Buffer.from(s, "utf8"));
    return proto;
  }
  const typed = data as Exclude<ort.Tensor["data"], string[]>;
  if (content) {
    proto.tensor_content = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);
    return proto;
  }
  const field = VAL_FIELD[dt] ?? "float_val";
  if (typed instanceof BigInt64Array || typed instanceof BigUint64Array) {
    proto[field] = Array.from(typed, (v) => v.toString());
  } else if (dt === "DT_BOOL") {
    proto[field] = Array.from(typed as Uint8Array, (v) => v !== 0);
  } else {
    proto[field] = Array.from(typed as Float32Array);
  }
  return proto;
}
