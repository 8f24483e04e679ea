/**
 * Canonical tensors -> TF Serving's REST JSON (the columnar `inputs` request). Written as text
 * rather than through JSON.stringify so INT64/UINT64 keep every digit (TF Serving parses them as
 * exact 64-bit integers), NaN and infinities use the tokens TF Serving accepts, and BYTES always
 * travel as `{"b64": ...}`, which carries any byte string.
 */
import { bf16ToNumber, fp16ToNumber } from "../../tensor/index.js";
import type { NamedTensor, Tensor } from "../../tensor/types.js";

/**
 * A float as JSON text. Whole numbers get a ".0": rapidjson would read a bare integer literal as
 * an integer, which TF Serving refuses for DT_FLOAT above 2^24 and DT_DOUBLE above 2^53 ("without
 * loss of precision").
 */
function floatText(x: number): string {
  if (Number.isFinite(x)) {
    const s = String(x);
    return s.includes(".") || s.includes("e") ? s : `${s}.0`;
  }
  if (Number.isNaN(x)) return "NaN";
  return x > 0 ? "Infinity" : "-Infinity";
}

/** Each element of a tensor as JSON text. */
function elementTexts(tensor: Tensor): string[] {
  const { datatype, data } = tensor;
  const n = data.length;
  const out = new Array<string>(n);
  if (Array.isArray(data)) {
    for (let i = 0; i < n; i++) {
      const bytes = data[i] ?? new Uint8Array(0);
      const b64 = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
      out[i] = `{"b64":"${b64}"}`;
    }
    return out;
  }
  switch (datatype) {
    case "BOOL":
      for (let i = 0; i < n; i++) out[i] = data[i] === 0 ? "false" : "true";
      return out;
    case "FP32":
    case "FP64":
      for (let i = 0; i < n; i++) out[i] = floatText(Number(data[i]));
      return out;
    case "FP16":
      for (let i = 0; i < n; i++) out[i] = floatText(fp16ToNumber(Number(data[i])));
      return out;
    case "BF16":
      for (let i = 0; i < n; i++) out[i] = floatText(bf16ToNumber(Number(data[i])));
      return out;
    default:
      // Integers, including BigInt storage: String() writes every digit.
      for (let i = 0; i < n; i++) out[i] = String(data[i]);
      return out;
  }
}

/** A tensor as nested JSON array text of its shape (a bare value for shape `[]`). */
export function tensorJsonText(tensor: Tensor): string {
  let level = elementTexts(tensor);
  const { shape } = tensor;
  if (shape.length === 0) return level[0] ?? "null";
  // Group from the innermost dimension outwards; row counts come from the shape so zero-size
  // dimensions print right ([2,0] is [[],[]]).
  for (let d = shape.length - 1; d >= 1; d--) {
    const size = shape[d] ?? 0;
    let rows = 1;
    for (let k = 0; k < d; k++) rows *= shape[k] ?? 0;
    const grouped = new Array<string>(rows);
    for (let r = 0; r < rows; r++)
      grouped[r] = `[${level.slice(r * size, (r + 1) * size).join(",")}]`;
    level = grouped;
  }
  return `[${level.join(",")}]`;
}

/** The body of `POST /v1/models/...:predict` in the columnar format. */
export function predictRequestText(signature: string, inputs: readonly NamedTensor[]): string {
  const parts = inputs.map((t) => `${JSON.stringify(t.name)}:${tensorJsonText(t)}`);
  return `{"signature_name":${JSON.stringify(signature)},"inputs":{${parts.join(",")}}}`;
}
