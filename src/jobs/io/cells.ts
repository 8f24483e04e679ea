/**
 * One tabular cell (CSV text, a Parquet value, a Postgres value) as the JSON value the unified
 * API's tensor decoder takes for the input's datatype. Numbers stay numbers; 64-bit integers
 * become decimal strings so values past 2^53 stay exact; text is checked here so a bad cell is a
 * bad record that names its column.
 */
import type { Datatype } from "../../tensor/index.js";

const INTEGER_TEXT = /^[+-]?\d+$/;
const SPECIAL_FLOAT = /^[+-]?(nan|inf|infinity)$/i;
const decoder = new TextDecoder("utf-8");

/** A cell's value, or a thrown message saying why it does not fit. */
export class CellError extends Error {}

function text(value: unknown): string | undefined {
  if (typeof value === "string") return value.trim();
  return undefined;
}

function toNumber(value: unknown, integer: boolean): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") {
    if (value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)) {
      return Number(value);
    }
    throw new CellError(`${value} is out of range`);
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  const s = text(value);
  if (s === undefined) throw new CellError(`expected a number, got ${describe(value)}`);
  if (integer ? INTEGER_TEXT.test(s) : s !== "" && !Number.isNaN(Number(s))) return Number(s);
  if (!integer && SPECIAL_FLOAT.test(s)) {
    const lower = s.toLowerCase();
    if (lower.endsWith("nan")) return Number.NaN;
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  throw new CellError(`expected ${integer ? "an integer" : "a number"}, got ${JSON.stringify(s)}`);
}

function toInt64(value: unknown): number | string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") return value;
  const s = text(value);
  if (s !== undefined && INTEGER_TEXT.test(s)) return s.startsWith("+") ? s.slice(1) : s;
  throw new CellError(`expected an integer, got ${describe(value)}`);
}

function toBool(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (value === 0 || value === 1) return value === 1;
  const s = text(value)?.toLowerCase();
  if (s === "true" || s === "1" || s === "t" || s === "yes") return true;
  if (s === "false" || s === "0" || s === "f" || s === "no") return false;
  throw new CellError(`expected true or false, got ${describe(value)}`);
}

function toText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  throw new CellError(`expected text, got ${describe(value)}`);
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return "a list";
  return typeof value;
}

/** The JSON value of one cell for `datatype`; throws CellError when it does not fit. */
export function cellValue(value: unknown, datatype: Datatype): unknown {
  if (value === null || value === undefined || value === "") {
    throw new CellError("the cell is empty");
  }
  switch (datatype) {
    case "BYTES":
      return toText(value);
    case "BOOL":
      return toBool(value);
    case "INT64":
    case "UINT64":
      return toInt64(value);
    case "FP16":
    case "BF16":
    case "FP32":
    case "FP64":
      return toNumber(value, false);
    default:
      return toNumber(value, true);
  }
}
