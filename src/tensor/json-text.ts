/**
 * JSON text that keeps values exact in both directions: writers that put INT64/UINT64 as their
 * decimal digits (never through a double) and non-finite floats as `NaN`, `Infinity`, `-Infinity`
 * (as Triton's JSON writer does), and a parser that keeps integer literals beyond 2^53 as bigints
 * and reads those non-finite tokens. JSON.parse would round the integers and refuse the tokens;
 * Node 20 has no source access in revivers, so the slow path is a small parser of our own, taken
 * only when a text needs it. Both are bounded: nesting depth is limited and every loop walks the
 * text or the value once.
 */
import { needsExactJson, tensorToNested } from "./json-out.js";
import type { Tensor } from "./types.js";

/** Deepest nesting the parser accepts (tensor rank plus the answer object, with room to spare). */
export const MAX_JSON_DEPTH = 64;

/**
 * An integer literal of 16+ digits (not the digits of a fraction or exponent) is the only way a
 * JSON text can hold an integer beyond 2^53; texts without one (almost all) take JSON.parse.
 * Digits inside strings can match too, which only costs the slower parser.
 */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])|NaN|Inf/;

/** Thrown for text that is not JSON (the caller decides whose fault that is). */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

/**
 * A tensor as nested JSON array text of its shape; INT64/UINT64 digits are written exactly and
 * non-finite floats as `NaN` / `Infinity` / `-Infinity`.
 */
export function nestedJsonText(tensor: Tensor): string {
  const nested = tensorToNested(tensor);
  return needsExactJson(tensor) ? stringifyExact(nested) : JSON.stringify(nested);
}

/** A parsed document and whether any bigint is in it (so callers skip a walk when none is). */
export interface ParsedJson {
  value: unknown;
  hasBigInt: boolean;
}

/**
 * Parses JSON text; integer literals outside ±(2^53-1) become bigints, every other number a JS
 * number. Throws JsonSyntaxError for invalid text. Texts without a long integer literal take JSON.parse
 * (V8's parser is iterative); the others take the exact parser, which refuses nesting deeper than
 * MAX_JSON_DEPTH. Tensor conversion bounds the rank of whatever comes back either way.
 */
export function parseJsonExact(text: string, maxDepth = MAX_JSON_DEPTH): ParsedJson {
  if (!LONG_INTEGER.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      throw new JsonSyntaxError(err instanceof Error ? err.message : String(err));
    }
    return { value, hasBigInt: false };
  }
  return parseJsonSlow(text, maxDepth);
}

/**
 * The exact parser itself, for callers that already know the text needs it (the HTTP fronts'
 * byte pre-scan says so): integer literals outside ±(2^53-1) become bigints, `NaN`, `Infinity`,
 * `-Infinity` (and rapidjson's `Inf`, `-Inf`) become those numbers. Throws JsonSyntaxError for
 * invalid text or nesting deeper than `maxDepth`.
 */
export function parseJsonSlow(text: string, maxDepth = MAX_JSON_DEPTH): ParsedJson {
  const parser = new ExactParser(text, maxDepth);
  const value = parser.parseDocument();
  return { value, hasBigInt: parser.hasBigInt };
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/** A string token; JSON.parse then validates its escapes and rejects raw control characters. */
const STRING = /"(?:[^"\\]|\\.)*"/y;
const QUOTE = 0x22;
const MINUS = 0x2d;

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

type Container =
  | { kind: "array"; value: unknown[] }
  | { kind: "object"; value: Record<string, unknown>; key: string };

/** A recursive-descent-free JSON parser: containers live on an explicit, depth-bounded stack. */
class ExactParser {
  private pos = 0;
  /** Set once an integer literal had to be kept as a bigint. */
  hasBigInt = false;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    const stack: Container[] = [];
    let result: unknown;
    let done = false;
    // Each turn reads one value (or closes containers); the text length bounds the turns.
    while (!done) {
      this.skipSpace();
      const top = stack.at(-1);
      let value: unknown;
      const c = this.text[this.pos];
      if (c === "[" || c === "{") {
        if (stack.length >= this.maxDepth) throw this.error(`nesting deeper than ${this.maxDepth}`);
        this.pos++;
        this.skipSpace();
        const closer = c === "[" ? "]" : "}";
        if (this.text[this.pos] === closer) {
          this.pos++;
          value = c === "[" ? [] : {};
        } else {
          stack.push(
            c === "["
              ? { kind: "array", value: [] }
              : { kind: "object", value: {}, key: this.readKey() },
          );
          continue; // its first value is read on the next turn
        }
      } else {
        value = this.readScalar();
      }
      // Store the value, then close every container that ends here.
      let current = value;
      let parent = top;
      for (;;) {
        if (parent === undefined) {
          result = current;
          done = true;
          break;
        }
        if (parent.kind === "array") parent.value.push(current);
        else
          Object.defineProperty(parent.value, parent.key, {
            value: current,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        this.skipSpace();
        const sep = this.text[this.pos++];
        if (sep === ",") {
          if (parent.kind === "object") parent.key = this.readKey();
          break;
        }
        if ((sep === "]" && parent.kind === "array") || (sep === "}" && parent.kind === "object")) {
          stack.pop();
          current = parent.value;
          parent = stack.at(-1);
          continue;
        }
        throw this.error("expected , or a closing bracket");
      }
    }
    this.skipSpace();
    if (this.pos !== this.text.length) throw this.error("unexpected text after the value");
    return result;
  }

  private readKey(): string {
    this.skipSpace();
    const key = this.readString();
    this.skipSpace();
    if (this.text[this.pos++] !== ":") throw this.error("expected :");
    return key;
  }

  private readScalar(): unknown {
    const code = this.text.charCodeAt(this.pos);
    if (code === QUOTE) return this.readString();
    // Numbers first: they are nearly every value of a tensor body. `-I` starts -Infinity.
    if (isDigit(code) || (code === MINUS && this.text.charCodeAt(this.pos + 1) !== 0x49)) {
      return this.readNumber();
    }
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    throw this.error("expected a value");
  }

  private readNumber(): number | bigint {
    NUMBER.lastIndex = this.pos;
    const m = NUMBER.exec(this.text);
    if (m === null) throw this.error("expected a value");
    this.pos = NUMBER.lastIndex;
    const literal = m[0];
    const n = Number(literal);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) {
      this.hasBigInt = true;
      return BigInt(literal);
    }
    return n;
  }

  private readString(): string {
    STRING.lastIndex = this.pos;
    const m = STRING.exec(this.text);
    if (m === null) throw this.error("expected a string");
    this.pos = STRING.lastIndex;
    try {
      return JSON.parse(m[0]) as string;
    } catch {
      throw this.error("invalid string");
    }
  }

  private skipSpace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      pos++;
    }
    this.pos = pos;
  }

  private error(what: string): JsonSyntaxError {
    return new JsonSyntaxError(`invalid JSON at offset ${this.pos}: ${what}`);
  }
}

/** Longest first where one is a prefix of another (`Infinity` before `Inf`). */
const LITERALS: ReadonlyArray<readonly [string, unknown]> = [
  ["true", true],
  ["false", false],
  ["null", null],
  ["NaN", Number.NaN],
  ["Infinity", Number.POSITIVE_INFINITY],
  ["-Infinity", Number.NEGATIVE_INFINITY],
  ["Inf", Number.POSITIVE_INFINITY],
  ["-Inf", Number.NEGATIVE_INFINITY],
];

/**
 * JSON text of a plain value (objects, arrays, strings, numbers, booleans, null) that also
 * writes bigints as their digits and NaN / ±Infinity as `NaN`, `Infinity`, `-Infinity`, where
 * JSON.stringify would throw or write `null`. Slower than JSON.stringify: for answers that hold
 * such values only (see needsExactJson). Objects are walked with an explicit stack, so the
 * nesting depth costs no call stack.
 */
export function stringifyExact(value: unknown): string {
  const parts: string[] = [];
  // Each entry is a value to write, or a literal piece of punctuation.
  const todo: Array<{ v: unknown } | string> = [{ v: value }];
  for (let item = todo.pop(); item !== undefined; item = todo.pop()) {
    if (typeof item === "string") {
      parts.push(item);
      continue;
    }
    const v = item.v;
    if (typeof v === "bigint") parts.push(v.toString());
    else if (typeof v === "number") parts.push(numberText(v));
    else if (Array.isArray(v)) {
      todo.push("]");
      for (let i = v.length - 1; i >= 0; i--) {
        todo.push({ v: v[i] === undefined ? null : v[i] });
        if (i > 0) todo.push(",");
      }
      parts.push("[");
    } else if (typeof v === "object" && v !== null) {
      const entries = Object.entries(v).filter(([, x]) => x !== undefined);
      todo.push("}");
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, x] = entries[i] as [string, unknown];
        todo.push({ v: x });
        todo.push(`${JSON.stringify(key)}:`);
        if (i > 0) todo.push(",");
      }
      parts.push("{");
    } else parts.push(JSON.stringify(v) ?? "null");
  }
  return parts.join("");
}

function numberText(x: number): string {
  if (Number.isFinite(x)) return JSON.stringify(x);
  if (Number.isNaN(x)) return "NaN";
  return x > 0 ? "Infinity" : "-Infinity";
}
