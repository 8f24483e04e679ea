/**
 * A byte pre-scan of a JSON body, before JSON.parse: it refuses nesting deeper than
 * `maxJsonDepth` and more values than the element limits allow at the first byte past a limit
 * (an 8 MB body of brackets costs microseconds, not a parse of millions of arrays), and it says
 * whether the text needs the exact parser (an integer literal too long for a double, or a
 * `NaN` / `Infinity` token), so that every other body keeps JSON.parse. It does not validate the
 * syntax: JSON.parse (or the exact parser) does that next.
 */
import { InvalidRequestError } from "../errors.js";
import { type DecodeLimits, RequestTooLargeError } from "./limits.js";

/** What the scan found. */
export interface JsonScan {
  /** The text holds a long integer literal or a non-finite token: parse it with parseJsonSlow. */
  readonly exact: boolean;
}

/** Values that are not tensor elements (names, ids, parameters) a body may hold besides them. */
const NON_TENSOR_SLACK = 4096;
/** More digits than a double holds exactly (2^53 has 16): such integer literals go exact. */
const LONG_DIGITS = 16;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

/**
 * Scans `bytes` (UTF-8 JSON) against the limits. Values inside arrays and object members are
 * counted (rows of a nested tensor are values too) against maxElements, and strings inside arrays
 * against maxBytesElements, each with a small allowance for the non-tensor fields; the exact
 * per-tensor checks come later from the declared shapes. Depth is an InvalidRequestError (400),
 * counts a RequestTooLargeError (413).
 */
export function scanJson(bytes: Uint8Array, limits: DecodeLimits): JsonScan {
  const maxDepth = limits.maxJsonDepth;
  const maxValues = limits.maxElements + NON_TENSOR_SLACK;
  const maxStrings = limits.maxBytesElements + NON_TENSOR_SLACK;
  // inArray[d] is 1 when the container at depth d is an array.
  const inArray = new Uint8Array(maxDepth + 2);
  const n = bytes.length;
  let depth = 0;
  let values = 0;
  let strings = 0;
  let exact = false;
  for (let i = 0; i < n; i++) {
    const c = bytes[i] as number;
    if (c <= 0x20 || c === 0x2c) continue; // whitespace and commas
    const arrayValue = inArray[depth] === 1;
    if (c === QUOTE) {
      if (arrayValue && ++strings > maxStrings) throw tooManyStrings(limits);
      i = stringEnd(bytes, i);
    } else if (c === COLON) {
      values++;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (arrayValue) values++;
      if (++depth > maxDepth) {
        throw new InvalidRequestError(
          `JSON nested deeper than ${maxDepth} (server.limits.maxJsonDepth)`,
        );
      }
      inArray[depth] = c === OPEN_ARRAY ? 1 : 0;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      // Unbalanced text is JSON.parse's to refuse; the scan only must not index out of range.
      if (depth > 0) depth--;
    } else if (c === MINUS || isDigit(c)) {
      if (arrayValue) values++;
      let j = c === MINUS ? i + 1 : i;
      const start = j;
      while (j < n && isDigit(bytes[j] as number)) j++;
      const next = bytes[j];
      if (j - start >= LONG_DIGITS && next !== DOT && next !== 0x65 && next !== 0x45) exact = true;
      // NaN after a minus is not JSON; -Infinity / -Inf are, like rapidjson reads them.
      if (j === start && next === 0x49) exact = true;
      // The rest of the literal (fraction, exponent) holds no structure.
      while (j < n && isNumberByte(bytes[j] as number)) j++;
      i = j - 1;
    } else {
      // true, false, null, NaN, Infinity, Inf: letters up to the next delimiter.
      if (arrayValue) values++;
      if (c === 0x4e || c === 0x49) exact = true; // N, I
      let j = i + 1;
      while (j < n && isLetter(bytes[j] as number)) j++;
      i = j - 1;
    }
    if (values > maxValues) throw tooManyValues(limits);
  }
  return { exact };
}

function isNumberByte(c: number): boolean {
  return isDigit(c) || c === DOT || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS;
}

function isLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** Index of the closing quote of the string opening at `open` (or the end of the text). */
function stringEnd(bytes: Uint8Array, open: number): number {
  let j = open + 1;
  for (;;) {
    j = bytes.indexOf(QUOTE, j);
    if (j < 0) return bytes.length;
    let backslashes = 0;
    for (let k = j - 1; bytes[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j++;
  }
}

function tooManyValues(limits: DecodeLimits): RequestTooLargeError {
  return new RequestTooLargeError(
    `the JSON body holds more than ${limits.maxElements} tensor values ` +
      "(server.limits.maxElements)",
  );
}

function tooManyStrings(limits: DecodeLimits): RequestTooLargeError {
  return new RequestTooLargeError(
    `the JSON body holds more than ${limits.maxBytesElements} strings in arrays ` +
      "(server.limits.maxBytesElements)",
  );
}
