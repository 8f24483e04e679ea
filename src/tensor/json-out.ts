/**
 * Canonical tensor -> JSON values: flat (KServe v2 `data`) or nested arrays of the real shape
 * (the unified API's outputs).
 */
import { elementCount } from "./datatype.js";
import { bf16ToNumber, fp16ToNumber } from "./half.js";
import type { Tensor } from "./types.js";

const decoder = new TextDecoder("utf-8");

/**
 * A tensor's data as a flat JSON array (KServe v2 JSON `data`). INT64/UINT64 become JS numbers,
 * so values beyond ±2^53 lose precision (JSON readers would lose it anyway); FP16/BF16 become
 * numbers; BOOL becomes true/false; BYTES become UTF-8 strings (invalid UTF-8 sequences turn into
 * U+FFFD). NaN and ±Infinity stay numbers here, and JSON.stringify writes them as `null`.
 */
export function tensorToFlatJson(tensor: Tensor): unknown[] {
  const { datatype, data } = tensor;
  const n = data.length;
  const out = new Array<unknown>(n);
  if (Array.isArray(data)) {
    for (let i = 0; i < n; i++) {
      const bytes = data[i];
      out[i] = bytes === undefined ? "" : decoder.decode(bytes);
    }
    return out;
  }
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < n; i++) out[i] = Number(data[i]);
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
