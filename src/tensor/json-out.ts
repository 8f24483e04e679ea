/**
 * Canonical tensor -> JSON values: flat (KServe v2 `data`) or nested arrays of the real shape
 * (the unified API's outputs). Values JSON.stringify cannot write exactly (64-bit integers beyond
 * 2^53, NaN, ±Infinity) are left as bigints and non-finite numbers; `needsExactJson` says when a
 * tensor holds any, and then the answer is written with `stringifyExact` (json-text.ts).
 */
import { InvalidRequestError } from "../errors.js";
import { elementCount } from "./datatype.js";
import { bf16ToNumber, fp16ToNumber } from "./half.js";
import type { Tensor } from "./types.js";

const decoder = new TextDecoder("utf-8", { fatal: true });
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;

/**
 * True when the tensor's JSON form holds a value JSON.stringify would change: an INT64/UINT64
 * beyond ±(2^53-1), or a NaN / ±Infinity float. One pass over the data, no allocation.
 */
export function needsExactJson(tensor: Tensor): boolean {
  const { data, datatype } = tensor;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i] ?? 0n;
      if (v > MAX_SAFE || v < MIN_SAFE) return true;
    }
    return false;
  }
  if (data instanceof Float32Array || data instanceof Float64Array) {
    // x - x is 0 for finite x and NaN for NaN and ±Infinity.
    for (let i = 0; i < data.length; i++) if ((data[i] ?? 0) - (data[i] ?? 0) !== 0) return true;
    return false;
  }
  if (datatype === "FP16" || datatype === "BF16") {
    // Exponent bits all ones is Inf or NaN in both half formats.
    const mask = datatype === "FP16" ? 0x7c00 : 0x7f80;
    for (let i = 0; i < data.length; i++) if (((data[i] as number) & mask) === mask) return true;
  }
  return false;
}

/**
 * A tensor's data as a flat JSON array (KServe v2 JSON `data`). INT64/UINT64 become numbers when
 * exactly representable, else bigints; FP16/BF16 become numbers; BOOL becomes true/false; BYTES
 * become strings of their UTF-8 text. BYTES that are not valid UTF-8 cannot be a JSON string and
 * are an InvalidRequestError (the binary forms carry them), never a silently changed string.
 */
export function tensorToFlatJson(tensor: Tensor): unknown[] {
  const { datatype, data } = tensor;
  const n = data.length;
  const out = new Array<unknown>(n);
  if (Array.isArray(data)) {
    for (let i = 0; i < n; i++) out[i] = utf8Text(data[i], i);
    return out;
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) {
      const v = data[i] ?? 0n;
      out[i] = v > MAX_SAFE || v < MIN_SAFE ? v : Number(v);
    }
    return out;
  }
  switch (datatype) {
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = data[i] !== 0;
      return out;
    case "FP16":
      for (let i = 0; i < n; i++) out[i] = fp16ToNumber(Number(data[i]));
      return out;
    case "BF16":
      for (let i = 0; i < n; i++) out[i] = bf16ToNumber(Number(data[i]));
      return out;
    default:
      for (let i = 0; i < n; i++) out[i] = data[i];
      return out;
  }
}

function utf8Text(bytes: Uint8Array | undefined, index: number): string {
  if (bytes === undefined) return "";
  try {
    return decoder.decode(bytes);
  } catch {
    throw new InvalidRequestError(
      `BYTES element ${index} is not valid UTF-8, so it has no JSON string form; ` +
        "ask for this tensor in a binary form (KServe v2 binary data or gRPC)",
    );
  }
}

/**
 * A tensor as nested JSON arrays of its real shape (a bare value for shape `[]`), with elements
 * converted as in tensorToFlatJson.
 */
export function tensorToNested(tensor: Tensor): unknown {
  const flat = tensorToFlatJson(tensor);
  const { shape } = tensor;
  if (shape.length === 0) return flat[0];
  // Group from the innermost dimension outwards. Counting rows from the shape (not the data)
  // keeps zero-size dimensions right: [2,0,3] is [[],[]].
  let level: unknown[] = flat;
  for (let d = shape.length - 1; d >= 1; d--) {
    const size = shape[d] ?? 0;
    const rows = elementCount(shape.slice(0, d));
    const grouped = new Array<unknown>(rows);
    for (let r = 0; r < rows; r++) grouped[r] = level.slice(r * size, (r + 1) * size);
    level = grouped;
  }
  return level;
}
