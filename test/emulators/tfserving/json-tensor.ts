/**
 * TF Serving's REST tensor rules (tensorflow_serving/util/json_tensor.cc), reimplemented for the
 * emulator: the dense shape comes from the first elements, every list must have that size at its
 * level, values must fit the signature's dtype exactly as rapidjson classifies them, DT_STRING
 * takes strings or `{"b64": ...}`, and DT_HALF/DT_UINT16/DT_BFLOAT16 are not convertible at all.
 * Answers are written as TF Serving writes them: floats always with a `.` or exponent, int64 as
 * bare exact numbers, strings plain unless the output alias ends in `_bytes`.
 */
import * as ort from "onnxruntime-node";
import { dtName, storageFor } from "./dtypes.js";
import { invalidArgument, TfError } from "./errors.js";
import { type Json, jsonText, jsonTypeName, Num, Obj } from "./json.js";

/** A tensor read from JSON: its dense shape and onnxruntime storage. */
export interface JsonTensor {
  shape: number[];
  data: ReturnType<typeof storageFor> | string[];
}

/** True for `{"b64": "<string>"}` and nothing else. */
export function isBase64Object(value: Json): boolean {
  if (!(value instanceof Obj) || value.members.size !== 1) return false;
  return typeof value.members.get("b64") === "string";
}

/** GetDenseTensorShape(): sizes along the first elements. */
function denseShape(value: Json): number[] {
  const shape: number[] = [];
  let v: Json | undefined = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v.length > 0 ? v[0] : undefined;
  }
  return shape;
}

/** FillTensorProto(): the leaves in row-major order, checking every list against the shape. */
function leavesOf(value: Json, shape: readonly number[]): Json[] {
  const rank = shape.length;
  const leaves: Json[] = [];
  const stack: { v: Json; level: number }[] = [{ v: value, level: 0 }];
  while (stack.length > 0) {
    const { v, level } = stack.pop() as { v: Json; level: number };
    if (!Array.isArray(v)) {
      if (level !== rank) {
        throw invalidArgument(
          `JSON Value: ${jsonText(v)} found at incorrect level: ${level + 1} in the JSON DOM. Expected at level: ${rank}`,
        );
      }
      leaves.push(v);
      continue;
    }
    if (level >= rank) {
      throw invalidArgument(`Encountered list at unexpected level: ${level} expected < ${rank}`);
    }
    if (v.length !== shape[level]) {
      throw invalidArgument(
        `Encountered list at unexpected size: ${v.length} at level: ${level} expected size: ${shape[level]}`,
      );
    }
    for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] as Json, level: level + 1 });
  }
  return leaves;
}

function typeError(value: Json, dt: string): TfError {
  return invalidArgument(
    `JSON Value: ${jsonText(value)} Type: ${jsonTypeName(value)} is not of expected type: ${dtName(dt)}`,
  );
}

const INT_RANGES: Readonly<Record<string, readonly [bigint, bigint]>> = {
  // rapidjson IsInt / IsInt64 / IsUint / IsUint64; int8/int16/uint8 take any int32 (TF casts).
  DT_INT32: [-(2n ** 31n), 2n ** 31n - 1n],
  DT_INT16: [-(2n ** 31n), 2n ** 31n - 1n],
  DT_INT8: [-(2n ** 31n), 2n ** 31n - 1n],
  DT_UINT8: [-(2n ** 31n), 2n ** 31n - 1n],
  DT_INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  DT_UINT32: [0n, 2n ** 32n - 1n],
  DT_UINT64: [0n, 2n ** 64n - 1n],
};

/** IsLosslessDecimal<T>(): integers must fit the mantissa, decimals the range. */
function lossless(value: Num, dt: string): boolean {
  const x = Number(value.text);
  if (!Number.isFinite(x)) return true;
  if (value.isInteger) {
    const digits = dt === "DT_FLOAT" ? 24n : 53n;
    const v = BigInt(value.text);
    return (v < 0n ? -v : v) <= 2n ** digits - 1n;
  }
  const max = dt === "DT_FLOAT" ? 3.4028234663852886e38 : Number.MAX_VALUE;
  return Math.abs(x) <= max;
}

/** AddValueToTensor() for every leaf. */
function storageOf(leaves: readonly Json[], dt: string): JsonTensor["data"] {
  const n = leaves.length;
  if (dt === "DT_STRING") {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const v = leaves[i] as Json;
      if (typeof v === "string") out[i] = v;
      else if (v instanceof Obj) {
        if (!isBase64Object(v)) {
          throw invalidArgument(
            `JSON Value: ${jsonText(v)} not formatted correctly for base64 data`,
          );
        }
        const b64 = v.members.get("b64") as string;
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1) {
          throw invalidArgument("Unable to base64 decode");
        }
        out[i] = Buffer.from(b64, "base64").toString("utf8");
      } else throw typeError(v, dt);
    }
    return out;
  }
  if (dt === "DT_HALF" || dt === "DT_UINT16" || dt === "DT_BFLOAT16") {
    throw new TfError(
      "UNIMPLEMENTED",
      `Conversion of JSON Value: ${n > 0 ? jsonText(leaves[0] as Json) : "[]"} to type: ${dtName(dt)}`,
    );
  }
  const out = storageFor(dt, n);
  const range = INT_RANGES[dt];
  for (let i = 0; i < n; i++) {
    const v = leaves[i] as Json;
    if (dt === "DT_BOOL") {
      if (typeof v !== "boolean") throw typeError(v, dt);
      (out as Uint8Array)[i] = v ? 1 : 0;
    } else if (!(v instanceof Num)) {
      throw typeError(v, dt);
    } else if (dt === "DT_FLOAT" || dt === "DT_DOUBLE") {
      if (!lossless(v, dt)) {
        throw invalidArgument(
          `Cannot convert JSON value: ${v.text} to ${dtName(dt)} without loss of precision.`,
        );
      }
      (out as Float32Array)[i] = Number(v.text);
    } else if (range !== undefined) {
      if (!v.isInteger) throw typeError(v, dt);
      const big = BigInt(v.text);
      if (big < range[0] || big > range[1]) throw typeError(v, dt);
      if (out instanceof BigInt64Array || out instanceof BigUint64Array) out[i] = big;
      else (out as Int32Array)[i] = Number(big);
    } else {
      throw new TfError(
        "UNIMPLEMENTED",
        `Conversion of JSON Value: ${v.text} to type: ${dtName(dt)}`,
      );
    }
  }
  return out;
}

/** A JSON tensor (a value or nested lists) of dtype `dt`. */
export function tensorFromJson(value: Json, dt: string): JsonTensor {
  const shape = denseShape(value);
  return { shape, data: storageOf(leavesOf(value, shape), dt) };
}

/** An onnxruntime tensor from JSON-read storage. */
export function ortTensor(ortType: string, tensor: JsonTensor): ort.Tensor {
  return new ort.Tensor(ortType as "float32", tensor.data as Float32Array, tensor.shape);
}

// ---- answers ----

/** WriteDecimal(): `%g`-like, full precision only when needed, always a `.` or exponent. */
function decimal(x: number, float32: boolean): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  let s: string;
  if (float32) {
    const short = Number(x.toPrecision(6));
    s = String(Math.fround(short) === x ? short : Number(x.toPrecision(9)));
  } else s = String(x);
  return s.includes(".") || s.includes("e") ? s : `${s}.0`;
}

/** Each element of an answer tensor as TF Serving writes it. */
function elementTexts(tensor: ort.Tensor, asBytes: boolean): string[] {
  const data = tensor.data as ArrayLike<unknown>;
  const n = data.length;
  const out = new Array<string>(n);
  switch (tensor.type) {
    case "float32":
    case "float64": {
      const f32 = tensor.type === "float32";
      for (let i = 0; i < n; i++) out[i] = decimal(Number(data[i]), f32);
      return out;
    }
    case "bool":
      for (let i = 0; i < n; i++) out[i] = data[i] ? "true" : "false";
      return out;
    case "string":
      for (let i = 0; i < n; i++) {
        const s = String(data[i]);
        out[i] = asBytes
          ? `{"b64":"${Buffer.from(s, "utf8").toString("base64")}"}`
          : JSON.stringify(s);
      }
      return out;
    case "int8":
    case "int16":
    case "int32":
    case "int64":
    case "uint8":
    case "uint32":
    case "uint64":
      for (let i = 0; i < n; i++) out[i] = String(data[i]);
      return out;
    default:
      throw invalidArgument(
        `Failed to write JSON value for tensor type: ${tensor.type === "float16" ? "half" : tensor.type}`,
      );
  }
}

/** The tensor's items along dimension 0 as JSON text (a scalar has none). */
function itemTexts(elements: string[], shape: readonly number[]): string[] {
  let level = elements;
  for (let d = shape.length - 1; d >= 1; d--) {
    const size = shape[d] ?? 0;
    let rows = 1;
    for (let k = 0; k < d; k++) rows *= shape[k] ?? 0;
    const grouped = new Array<string>(rows);
    for (let r = 0; r < rows; r++)
      grouped[r] = `[${level.slice(r * size, (r + 1) * size).join(",")}]`;
    level = grouped;
  }
  return level;
}

/** A whole answer tensor as JSON text (columnar format). */
export function tensorText(alias: string, tensor: ort.Tensor): string {
  const elements = elementTexts(tensor, alias.endsWith("_bytes"));
  const shape = tensor.dims.map(Number);
  if (shape.length === 0) return elements[0] ?? "null";
  return `[${itemTexts(elements, shape).join(",")}]`;
}

/** An answer tensor's rows (row format); throws when it has no dimension 0. */
export function tensorRows(alias: string, tensor: ort.Tensor): string[] {
  const shape = tensor.dims.map(Number);
  if (shape.length === 0) throw invalidArgument(`Tensor name: ${alias} has no shape information `);
  return itemTexts(elementTexts(tensor, alias.endsWith("_bytes")), shape);
}
