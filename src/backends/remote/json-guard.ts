/**
 * A bound on the objects and keys of a backend's JSON answer, checked on the raw bytes before
 * JSON.parse: parsing builds one object per `{` and one property per key, so an answer of a
 * million tiny outputs within the response cap would cost hundreds of MB before any check could
 * look at it. Tensor data (numbers, nested arrays, strings) is not bounded here: the response cap
 * and the answer check bound it.
 */
import { BackendError } from "../../errors.js";
import { MAX_UNDECLARED_OUTPUTS } from "../answer-check.js";

/**
 * Most `{` plus `:` outside strings an answer may hold: an output takes about 8 in the most
 * verbose format (KServe v2 with parameters), so this allows twice MAX_UNDECLARED_OUTPUTS of them.
 */
export const MAX_JSON_STRUCTURE = 16 * MAX_UNDECLARED_OUTPUTS;

const OPEN_BRACE = 0x7b;
const COLON = 0x3a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Throws BackendError when JSON text `bytes` holds more than `max` objects and keys together. */
export function checkJsonStructure(
  backend: string,
  bytes: Uint8Array,
  max = MAX_JSON_STRUCTURE,
): void {
  // Fast path: counting the bytes anywhere (strings included) over-counts, so under the bound
  // this is proof enough; memchr-speed, and tensor data holds neither byte.
  if (occurrences(bytes, OPEN_BRACE, max) + occurrences(bytes, COLON, max) <= max) return;
  if (structureCount(bytes, max) > max) {
    throw new BackendError(
      `backend "${backend}" answered JSON with more than ${max} objects and keys ` +
        `(more outputs than ${MAX_UNDECLARED_OUTPUTS})`,
    );
  }
}

/** Occurrences of `byte` in `bytes`, counting no further than `max + 1`. */
function occurrences(bytes: Uint8Array, byte: number, max: number): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let count = 0;
  let at = buf.indexOf(byte);
  while (at !== -1 && count <= max) {
    count++;
    at = buf.indexOf(byte, at + 1);
  }
  return count;
}

/** `{` and `:` outside strings, counting no further than `max + 1`. */
function structureCount(bytes: Uint8Array, max: number): number {
  let count = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) {
      inString = true;
    } else if ((b === OPEN_BRACE || b === COLON) && ++count > max) {
      return count;
    }
  }
  return count;
}
