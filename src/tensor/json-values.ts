/**
 * Flat JSON element values -> typed tensor storage, checking each value against the datatype.
 * One tight loop per datatype (no per-element closures): this is the request hot path.
 */
import { InvalidRequestError } from "../errors.js";
import { emptyData, INT64_RANGES, INTEGER_RANGES } from "./datatype.js";
import { numberToBf16, numberToFp16 } from "./half.js";
import type { Datatype, TensorData } from "./types.js";

const encoder = new TextEncoder();
const DECIMAL = /^-?[0-9]+$/;
/** Longer decimal strings are out of 64-bit range whatever their digits (allows leading zeros). */
const MAX_DECIMAL_LENGTH = 40;

/**
 * Where the values came from, for error messages: `pathShape` is the nesting of the JSON the
 * values were flattened from (so an index maps back to `[i][j]`), and `inferred` says the
 * datatype was guessed from the first element rather than given.
 */
export interface ValueSource {
  readonly pathShape: readonly number[];
  readonly inferred: boolean;
}

/** Typed storage for flat JSON values; throws InvalidRequestError at the first bad element. */
export function dataFromJsonValues(
  datatype: Datatype,
  values: readonly unknown[],
  source: ValueSource,
): TensorData {
  const n = values.length;
  switch (datatype) {
    case "FP32":
    case "FP64": {
      const out = emptyData(datatype, n);
      for (let i = 0; i < n; i++) {
        const x = values[i];
        if (typeof x === "number") out[i] = x;
        // An integer literal too long for a double was kept exact; a float takes its nearest.
        else if (typeof x === "bigint") out[i] = Number(x);
        else throw bad(datatype, "a number", x, i, source);
      }
      return out;
    }
    case "FP16":
    case "BF16": {
      const out = emptyData(datatype, n);
      const fp16 = datatype === "FP16";
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === "bigint" ? Number(v) : v;
        if (typeof x !== "number") throw bad(datatype, "a number", v, i, source);
        out[i] = fp16 ? numberToFp16(x) : numberToBf16(x);
      }
      return out;
    }
    case "UINT8":
    case "UINT16":
    case "UINT32":
    case "INT8":
    case "INT16":
    case "INT32": {
      const out = emptyData(datatype, n);
      const [min, max] = INTEGER_RANGES[datatype];
      for (let i = 0; i < n; i++) {
        const x = values[i];
        if (typeof x !== "number" || !Number.isInteger(x) || x < min || x > max) {
          throw bad(datatype, `an integer in [${min}, ${max}]`, x, i, source);
        }
        out[i] = x;
      }
      return out;
    }
    case "INT64":
    case "UINT64": {
      const out = emptyData(datatype, n);
      const [min, max] = INT64_RANGES[datatype];
      for (let i = 0; i < n; i++) {
        const x = values[i];
        const v = toBigInt(x);
        if (v === undefined || v < min || v > max) {
          throw bad(datatype, `an integer or decimal string in [${min}, ${max}]`, x, i, source);
        }
        out[i] = v;
      }
      return out;
    }
    case "BOOL": {
      const out = emptyData(datatype, n);
      for (let i = 0; i < n; i++) {
        const x = values[i];
        if (typeof x !== "boolean") throw bad(datatype, "true or false", x, i, source);
        out[i] = x ? 1 : 0;
      }
      return out;
    }
    case "BYTES": {
      const out = new Array<Uint8Array>(n);
      for (let i = 0; i < n; i++) {
        const x = values[i];
        if (typeof x !== "string") throw bad(datatype, "a string", x, i, source);
        out[i] = encoder.encode(x);
      }
      return out;
    }
  }
}

function toBigInt(x: unknown): bigint | undefined {
  if (typeof x === "bigint") return x;
  if (typeof x === "number") return Number.isInteger(x) ? BigInt(x) : undefined;
  if (typeof x === "string" && x.length <= MAX_DECIMAL_LENGTH && DECIMAL.test(x)) return BigInt(x);
  return undefined;
}

function bad(
  datatype: Datatype,
  expected: string,
  got: unknown,
  index: number,
  source: ValueSource,
): InvalidRequestError {
  const at = formatPath(index, source.pathShape);
  if (Array.isArray(got)) {
    return new InvalidRequestError(
      `ragged array at ${at}: expected ${expected} for ${datatype}, got an array`,
    );
  }
  if (source.inferred) {
    return new InvalidRequestError(
      `mixed element kinds at ${at}: the first element made the tensor ${datatype}, so ` +
        `expected ${expected}, got ${describeValue(got)}`,
    );
  }
  return new InvalidRequestError(
    `invalid ${datatype} element at ${at}: expected ${expected}, got ${describeValue(got)}`,
  );
}

/** A flat index as a nested JSON path, e.g. index 5 of shape [2,3] is `[1][2]`. */
export function formatPath(index: number, shape: readonly number[]): string {
  if (shape.length === 0) return "[]";
  if (shape.length === 1) return `[${index}]`;
  const parts = new Array<number>(shape.length);
  let rest = index;
  for (let d = shape.length - 1; d >= 0; d--) {
    const dim = shape[d] ?? 1;
    parts[d] = dim > 0 ? rest % dim : 0;
    rest = dim > 0 ? Math.floor(rest / dim) : 0;
  }
  return `[${parts.join("][")}]`;
}

/** A short, safe description of an offending JSON value for an error message. */
export function describeValue(x: unknown): string {
  if (x === null) return "null";
  if (Array.isArray(x)) return "an array";
  switch (typeof x) {
    case "number":
    case "bigint":
      return `${typeof x} ${String(x)}`;
    case "boolean":
      return `boolean ${x}`;
    case "string":
      return `string ${JSON.stringify(x.length > 32 ? `${x.slice(0, 32)}…` : x)}`;
    case "undefined":
      return "nothing (undefined)";
    case "object":
      return "an object";
    default:
      return `a ${typeof x}`;
  }
}
