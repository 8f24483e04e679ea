/**
 * TF Serving's REST JSON both ways. Requests: canonical tensors -> the columnar `inputs` request,
 * written as text rather than through JSON.stringify so INT64/UINT64 keep every digit (TF Serving
 * parses them as exact 64-bit integers), NaN and infinities use the tokens TF Serving accepts, and
 * BYTES always travel as `{"b64": ...}`, which carries any byte string.
 *
 * Answers -> canonical tensors. TF Serving writes int64 as bare JSON numbers, NaN and infinities
 * as the bare tokens `NaN`/`Infinity`/`-Infinity` (not JSON), and DT_STRING as plain strings (or
 * `{"b64"}` when the alias ends in `_bytes`). JSON.parse reads the common answer natively; only
 * when the text holds long integer literals or those tokens is it first rewritten, in one linear
 * pass outside strings, so the literals become exact decimal strings and the tokens strings the
 * float reader knows.
 */
import { BackendError, GatewayError } from "../../errors.js";
import { bf16ToNumber, fp16ToNumber, MAX_RANK, tensorFromNested } from "../../tensor/index.js";
import type { Datatype, NamedTensor, Tensor } from "../../tensor/types.js";

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

/** Integer literals this long may exceed 2^53; they are kept as text. */
const LONG_INTEGER_DIGITS = 16;
const NEEDS_REWRITE = /NaN|Infinity|\d{16}/;

/** A parsed answer and whether it was rewritten (so special floats may appear as strings). */
export interface ParsedAnswer {
  value: unknown;
  rewritten: boolean;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Quotes NaN/Infinity tokens and long integer literals outside strings. */
function rewrite(text: string): string {
  const out: string[] = [];
  let copied = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === 92 /* \ */) i += 2;
        else if (s === 34) break;
        else i++;
      }
      i++;
      continue;
    }
    let end = i;
    if (text.startsWith("NaN", i)) end = i + 3;
    else if (text.startsWith("Infinity", i)) end = i + 8;
    else if (text.startsWith("-Infinity", i)) end = i + 9;
    else if (c === 45 /* - */ || isDigit(c)) {
      let j = c === 45 ? i + 1 : i;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      const digits = j - (c === 45 ? i + 1 : i);
      const next = j < n ? text[j] : "";
      if (digits >= LONG_INTEGER_DIGITS && next !== "." && next !== "e" && next !== "E") end = j;
      else {
        // An ordinary number: skip it whole (fraction and exponent included).
        while (j < n && /[0-9.eE+-]/.test(text[j] ?? "")) j++;
        i = j;
        continue;
      }
    }
    if (end > i) {
      out.push(text.slice(copied, i), `"${text.slice(i, end)}"`);
      copied = end;
      i = end;
      continue;
    }
    i++;
  }
  out.push(text.slice(copied));
  return out.join("");
}

/** Parses a TF Serving JSON answer; throws BackendError when it is not JSON. */
export function parseAnswer(backend: string, text: string): ParsedAnswer {
  const rewritten = NEEDS_REWRITE.test(text);
  try {
    return { value: JSON.parse(rewritten ? rewrite(text) : text), rewritten };
  } catch (err) {
    throw new BackendError(`backend "${backend}" answered invalid JSON`, { cause: err });
  }
}

/** The `error` of a TF Serving error body, or the body's start when it is not one. */
export function errorMessage(text: string): string {
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null && "error" in body) return String(body.error);
  } catch {
    // Not JSON (a proxy's page, say): report its start.
  }
  return text.slice(0, 200);
}

/**
 * Copies a nested array replacing each leaf (bounded by MAX_RANK, no recursion). Leaves are
 * visited in row-major order.
 */
function mapLeaves(value: unknown, fn: (leaf: unknown) => unknown): unknown {
  if (!Array.isArray(value)) return fn(value);
  const root: unknown[] = new Array(value.length);
  const stack: { src: unknown[]; dst: unknown[]; i: number }[] = [{ src: value, dst: root, i: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    if (top.i === top.src.length) {
      stack.pop();
      continue;
    }
    const i = top.i++;
    const child = top.src[i];
    if (Array.isArray(child)) {
      if (stack.length >= MAX_RANK) throw new BackendError(`output nested deeper than ${MAX_RANK}`);
      const dst: unknown[] = new Array(child.length);
      top.dst[i] = dst;
      stack.push({ src: child, dst, i: 0 });
    } else {
      top.dst[i] = fn(child);
    }
  }
  return root;
}

const NON_FINITE_FLOATS: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  "-Infinity": Number.NEGATIVE_INFINITY,
};

function floatLeaf(leaf: unknown): unknown {
  if (typeof leaf !== "string") return leaf;
  return NON_FINITE_FLOATS[leaf] ?? (/^-?\d+$/.test(leaf) ? Number(leaf) : leaf);
}

function bytesLeaf(leaf: unknown, sink: Uint8Array[]): unknown {
  if (typeof leaf === "string") {
    sink.push(Buffer.from(leaf, "utf8"));
    return "";
  }
  if (typeof leaf === "object" && leaf !== null && "b64" in leaf && typeof leaf.b64 === "string") {
    sink.push(Buffer.from(leaf.b64, "base64"));
    return "";
  }
  return leaf;
}

/**
 * One output of a TF Serving answer as a tensor of `datatype` (from the signature). A malformed
 * output is the backend's fault: BackendError naming it.
 */
export function tensorFromAnswer(
  backend: string,
  name: string,
  value: unknown,
  datatype: Datatype,
  rewritten: boolean,
): Tensor {
  try {
    if (datatype === "BYTES") {
      const bytes: Uint8Array[] = [];
      const shaped = tensorFromNested(
        mapLeaves(value, (leaf) => bytesLeaf(leaf, bytes)),
        "BYTES",
      );
      return { datatype, shape: shaped.shape, data: bytes };
    }
    const isFloat = datatype === "FP32" || datatype === "FP64" || datatype === "FP16";
    return tensorFromNested(isFloat && rewritten ? mapLeaves(value, floatLeaf) : value, datatype);
  } catch (err) {
    if (err instanceof BackendError) throw err;
    const why = err instanceof GatewayError ? err.message : String(err);
    throw new BackendError(`backend "${backend}" answered a malformed output "${name}": ${why}`, {
      cause: err,
    });
  }
}
