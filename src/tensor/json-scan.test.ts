import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../errors.js";
import { scanJson } from "./json-scan.js";
import { DEFAULT_LIMITS, type DecodeLimits, RequestTooLargeError } from "./limits.js";

const utf8 = new TextEncoder();
const scan = (text: string, limits: Partial<DecodeLimits> = {}) =>
  scanJson(utf8.encode(text), { ...DEFAULT_LIMITS, ...limits });

describe("scanJson", () => {
  it("refuses nesting one past maxJsonDepth and accepts it at the limit", () => {
    const at = `${"[".repeat(8)}1${"]".repeat(8)}`;
    expect(scan(at, { maxJsonDepth: 8 }).exact).toBe(false);
    const past = `${"[".repeat(9)}1${"]".repeat(9)}`;
    expect(() => scan(past, { maxJsonDepth: 8 })).toThrow(InvalidRequestError);
    expect(() => scan(past, { maxJsonDepth: 8 })).toThrow(/nested deeper than 8/);
    // Objects count as levels too.
    expect(() => scan('{"a":{"b":{"c":[[[[[[1]]]]]]}}}', { maxJsonDepth: 8 })).toThrow(
      /nested deeper/,
    );
  });

  it("stops at the first byte past the depth limit, whatever follows", () => {
    // Not JSON at all after the limit: the scan never gets there.
    expect(() => scan(`${"[".repeat(65)}garbage`)).toThrow(/nested deeper than 64/);
  });

  it("counts values in arrays and object members against maxElements (plus a small allowance)", () => {
    const values = (n: number) => `[${Array.from({ length: n }, () => "1").join(",")}]`;
    expect(() => scan(values(1000), { maxElements: 1000 })).not.toThrow();
    expect(() => scan(values(1000 + 4097), { maxElements: 1000 })).toThrow(RequestTooLargeError);
    const members = `{${Array.from({ length: 6000 }, (_, i) => `"k${i}":0`).join(",")}}`;
    expect(() => scan(members, { maxElements: 1000 })).toThrow(/maxElements/);
    // Rows are values: a million empty arrays cost as much as a million numbers.
    const rows = `[${Array.from({ length: 6000 }, () => "[]").join(",")}]`;
    expect(() => scan(rows, { maxElements: 1000 })).toThrow(/maxElements/);
  });

  it("counts strings in arrays against maxBytesElements, not object keys", () => {
    const strings = (n: number) => `[${Array.from({ length: n }, () => '"a"').join(",")}]`;
    expect(() => scan(strings(100 + 4096), { maxBytesElements: 100 })).not.toThrow();
    expect(() => scan(strings(100 + 4097), { maxBytesElements: 100 })).toThrow(/maxBytesElements/);
    const keys = `{${Array.from({ length: 5000 }, (_, i) => `"k${i}":1`).join(",")}}`;
    expect(() => scan(keys, { maxBytesElements: 100 })).not.toThrow();
  });

  it("skips brackets, quotes and digits inside strings", () => {
    expect(
      scan('["[[[[[[[[[[", "\\"]]]", "12345678901234567890", "NaN"]', { maxJsonDepth: 2 }),
    ).toEqual({ exact: false });
    expect(scan('["a\\\\", 12345678901234567890]').exact).toBe(true);
  });

  it.each([
    ["[9007199254740993]", true],
    ["[-9223372036854775808]", true],
    ["[18446744073709551615]", true],
    ["[NaN, 1]", true],
    ["[Infinity]", true],
    ["[-Infinity]", true],
    ["[-Inf]", true],
    ["[900719925474099]", false],
    ["[1.2345678901234567]", false],
    ["[12345678901234567e3]", false],
    ["[0.12345678901234567890]", false],
    ['{"a": true, "b": null, "c": false}', false],
  ])("%s needs the exact parser: %s", (text, exact) => {
    expect(scan(text).exact).toBe(exact);
  });

  it("never throws on documents within the limits, and flags every long integer literal", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 10 }), (value) => {
        const text = JSON.stringify(value);
        const result = scan(text);
        // JSON.stringify writes no NaN and only integers it holds exactly, so the flag is set
        // exactly when some integer literal has 16 or more digits.
        const long = /(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/.test(
          text.replace(/"(?:[^"\\]|\\.)*"/g, '""'),
        );
        expect(result.exact).toBe(long);
      }),
      { numRuns: 300 },
    );
  });
});
