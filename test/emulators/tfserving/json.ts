/**
 * A JSON reader with rapidjson's behaviour as TF Serving configures it: numbers keep their source
 * text (so int64 stays exact and `1.0` is not an integer, as rapidjson's IsInt64 says), `NaN`,
 * `Infinity` and `-Infinity` are accepted (kParseNanAndInfFlag), and errors read like rapidjson's.
 * Iterative, with a nesting bound, so a hostile body cannot overflow the stack.
 */
import { invalidArgument, type TfError } from "./errors.js";

/** A JSON number as written. */
export class Num {
  constructor(readonly text: string) {}

  /** True for an integer literal (no fraction, no exponent, not NaN/Infinity). */
  get isInteger(): boolean {
    return /^-?\d+$/.test(this.text);
  }
}

/** A JSON object, keys in document order. */
export class Obj {
  constructor(readonly members: Map<string, Json>) {}
}

export type Json = null | boolean | string | Num | Obj | Json[];

const MAX_DEPTH = 512;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

interface Frame {
  array: Json[] | undefined;
  members: Map<string, Json> | undefined;
  key: string;
}

function fail(message: string, offset: number): TfError {
  return invalidArgument(`JSON Parse error: ${message} at offset: ${offset}`);
}

function ws(text: string, i: number): number {
  let j = i;
  for (;;) {
    const c = text.charCodeAt(j);
    if (c === 32 || c === 10 || c === 13 || c === 9) j++;
    else return j;
  }
}

/** Reads the string starting at the quote at `i`; returns it and the offset after it. */
function readString(text: string, i: number): [string, number] {
  let j = i + 1;
  let escaped = false;
  for (;;) {
    const c = text.charCodeAt(j);
    if (Number.isNaN(c)) throw fail("Missing a closing quotation mark in string.", i);
    if (c === 34) break;
    if (c === 92) {
      escaped = true;
      j += 2;
    } else if (c < 32) {
      throw fail("Invalid encoding in string.", j);
    } else j++;
  }
  if (!escaped) return [text.slice(i + 1, j), j + 1];
  try {
    return [JSON.parse(text.slice(i, j + 1)) as string, j + 1];
  } catch {
    throw fail("Invalid escape character in string.", i);
  }
}

function readKey(text: string, at: number): [string, number] {
  const i = ws(text, at);
  if (text.charCodeAt(i) !== 34) throw fail("Missing a name for object member.", i);
  const [key, after] = readString(text, i);
  const j = ws(text, after);
  if (text.charCodeAt(j) !== 58) throw fail("Missing a colon after a name of object member.", j);
  return [key, j + 1];
}

const LITERALS: readonly [string, () => Json][] = [
  ["true", () => true],
  ["false", () => false],
  ["null", () => null],
  ["NaN", () => new Num("NaN")],
  ["Infinity", () => new Num("Infinity")],
  ["-Infinity", () => new Num("-Infinity")],
];

/** Parses a whole document. Throws TfError (INVALID_ARGUMENT) with rapidjson's messages. */
export function parseJson(text: string): Json {
  if (text.length === 0) throw invalidArgument("JSON Parse error: The document is empty");
  const stack: Frame[] = [];
  let i = 0;
  for (;;) {
    i = ws(text, i);
    const c = text.charCodeAt(i);
    let value: Json;
    if (c === 123 || c === 91) {
      const close = c === 123 ? 125 : 93;
      const j = ws(text, i + 1);
      if (text.charCodeAt(j) === close) {
        value = c === 123 ? new Obj(new Map()) : [];
        i = j + 1;
      } else {
        if (stack.length >= MAX_DEPTH) throw fail("Nesting too deep.", i);
        if (c === 91) {
          stack.push({ array: [], members: undefined, key: "" });
          i = j;
        } else {
          const [key, after] = readKey(text, j);
          stack.push({ array: undefined, members: new Map(), key });
          i = after;
        }
        continue;
      }
    } else if (c === 34) {
      [value, i] = readString(text, i);
    } else {
      const literal = LITERALS.find(([word]) => text.startsWith(word, i));
      if (literal !== undefined) {
        value = literal[1]();
        i += literal[0].length;
      } else {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (m === null) throw fail("Invalid value.", i);
        value = new Num(m[0]);
        i += m[0].length;
      }
    }
    // Attach the value, closing every container that ends here.
    for (;;) {
      const top = stack[stack.length - 1];
      if (top === undefined) {
        if (ws(text, i) < text.length) {
          throw fail("The document root must not be followed by other values.", ws(text, i));
        }
        return value;
      }
      if (top.array !== undefined) top.array.push(value);
      else top.members?.set(top.key, value);
      i = ws(text, i);
      const d = text.charCodeAt(i);
      if (d === 44) {
        if (top.members !== undefined) [top.key, i] = readKey(text, i + 1);
        else i++;
        break;
      }
      if (top.array !== undefined && d === 93) {
        stack.pop();
        value = top.array;
        i++;
        continue;
      }
      if (top.members !== undefined && d === 125) {
        stack.pop();
        value = new Obj(top.members);
        i++;
        continue;
      }
      throw fail(
        top.array !== undefined
          ? "Missing a comma or ']' after an array element."
          : "Missing a comma or '}' after an object member.",
        i,
      );
    }
  }
}

/** A JSON value as compact text (for TF Serving's error messages). */
export function jsonText(value: Json): string {
  if (value instanceof Num) return value.text;
  if (value instanceof Obj) {
    const parts = [...value.members].map(([k, v]) => `${JSON.stringify(k)}:${jsonText(v)}`);
    return `{${parts.join(",")}}`;
  }
  if (Array.isArray(value)) return `[${value.map(jsonText).join(",")}]`;
  return JSON.stringify(value);
}

/** rapidjson's type name of a value, for TF Serving's type errors. */
export function jsonTypeName(value: Json): string {
  if (value === null) return "Null";
  if (value === true) return "True";
  if (value === false) return "False";
  if (value instanceof Num) return "Number";
  if (value instanceof Obj) return "Object";
  if (Array.isArray(value)) return "Array";
  return "String";
}
