/**
 * JSON text that keeps 64-bit integers exact in both directions: a writer for nested tensor arrays
 * (INT64/UINT64 as their decimal digits, never through a double) and a parser that keeps integer
 * literals beyond 2^53 as bigints. JSON.parse would round them; Node 20 has no source access in
 * revivers, so the slow path is a small parser of our own. Both are bounded: nesting depth is
 * limited and every loop walks the text or the tensor once.
 */
import { tensorToNested } from "../../tensor/index.js";
import type { Tensor } from "../../tensor/types.js";

/** Deepest nesting the parser accepts (tensor rank plus the answer object, with room to spare). */
export const MAX_JSON_DEPTH = 64;

/**
 * An integer literal of 16+ digits (not the digits of a fraction or exponent) is the only way a
 * JSON text can hold an integer beyond 2^53; texts without one (almost all) take JSON.parse.
 * Digits inside strings can match too, which only costs the slower parser.
 */
const LONG_INTEGER = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/;

/** Thrown for text that is not JSON (the caller decides whose fault that is). */
export class JsonSyntaxError extends Error {
  override name = "JsonSyntaxError";
}

/** A tensor as nested JSON array text of its shape; INT64/UINT64 digits are written exactly. */
export function nestedJsonText(tensor: Tensor): string {
  const { data, shape } = tensor;
  if (!(data instanceof BigInt64Array || data instanceof BigUint64Array)) {
    return JSON.stringify(tensorToNested(tensor));
  }
  let level: string[] = Array.from(data, (v) => v.toString());
  if (shape.length === 0) return level[0] ?? "0";
  // Group from the innermost dimension outwards; row counts come from the shape so that
  // zero-size dimensions ([2,0]) still print as [[],[]].
  for (let d = shape.length - 1; d >= 0; d--) {
    const size = shape[d] ?? 0;
    let rows = 1;
    for (let i = 0; i < d; i++) rows *= shape[i] ?? 0;
    const grouped = new Array<string>(rows);
    for (let r = 0; r < rows; r++)
      grouped[r] = `[${level.slice(r * size, (r + 1) * size).join(",")}]`;
    level = grouped;
  }
  return level[0] ?? "[]";
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
export function parseJsonExact(text: string): ParsedJson {
  if (!LONG_INTEGER.test(text)) {
    let value: unknown;
    try {
      value = JSON.parse(text) as unknown;
    } catch (err) {
      throw new JsonSyntaxError(err instanceof Error ? err.message : String(err));
    }
    return { value, hasBigInt: false };
  }
  const parser = new ExactParser(text);
  const value = parser.parseDocument();
  return { value, hasBigInt: parser.hasBigInt };
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/** A string token; JSON.parse then validates its escapes and rejects raw control characters. */
const STRING = /"(?:[^"\\]|\\.)*"/y;
const SPACE = /[ \t\n\r]*/y;

type Container =
  | { kind: "array"; value: unknown[] }
  | { kind: "object"; value: Record<string, unknown>; key: string };

/** A recursive-descent-free JSON parser: containers live on an explicit, depth-bounded stack. */
class ExactParser {
  private pos = 0;
  /** Set once an integer literal had to be kept as a bigint. */
  hasBigInt = false;

  constructor(private readonly text: string) {}

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
        if (stack.length >= MAX_JSON_DEPTH)
          throw this.error(`nesting deeper than ${MAX_JSON_DEPTH}`);
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
    const c = this.text[this.pos];
    if (c === '"') return this.readString();
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
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
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.text);
    this.pos = SPACE.lastIndex;
  }

  private error(what: string): JsonSyntaxError {
    return new JsonSyntaxError(`invalid JSON at offset ${this.pos}: ${what}`);
  }
}

const LITERALS: ReadonlyArray<readonly [string, unknown]> = [
  ["true", true],
  ["false", false],
  ["null", null],
];
