import { describe, expect, it } from "vitest";
import { JsonSyntaxError, MAX_JSON_DEPTH, nestedJsonText, parseJsonExact } from "./json-text.js";

describe("nestedJsonText", () => {
  it("writes INT64 and UINT64 extremes digit for digit", () => {
    const int64 = BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 2n ** 53n + 1n, 0n]);
    expect(nestedJsonText({ datatype: "INT64", shape: [2, 2], data: int64 })).toBe(
      "[[-9223372036854775808,9223372036854775807],[9007199254740993,0]]",
    );
    const uint64 = BigUint64Array.from([2n ** 64n - 1n]);
    expect(nestedJsonText({ datatype: "UINT64", shape: [1], data: uint64 })).toBe(
      "[18446744073709551615]",
    );
  });

  it("keeps zero-size dimensions and scalars", () => {
    expect(nestedJsonText({ datatype: "INT64", shape: [2, 0], data: new BigInt64Array(0) })).toBe(
      "[[],[]]",
    );
    expect(nestedJsonText({ datatype: "INT64", shape: [], data: BigInt64Array.from([-5n]) })).toBe(
      "-5",
    );
  });

  it("writes other datatypes as nested JSON of their values", () => {
    const fp32 = Float32Array.from([1.5, -2, 0.25, 3]);
    expect(nestedJsonText({ datatype: "FP32", shape: [2, 2], data: fp32 })).toBe(
      "[[1.5,-2],[0.25,3]]",
    );
    const bytes = [new TextEncoder().encode('a"b'), new TextEncoder().encode("é")];
    expect(nestedJsonText({ datatype: "BYTES", shape: [2], data: bytes })).toBe('["a\\"b","é"]');
    expect(nestedJsonText({ datatype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) })).toBe(
      "[true,false]",
    );
  });
});

describe("parseJsonExact", () => {
  it("keeps integer literals beyond 2^53 as bigints and says so", () => {
    const parsed = parseJsonExact('{"y":[[9223372036854775807,-9223372036854775808,7]]}');
    expect(parsed.hasBigInt).toBe(true);
    expect(parsed.value).toEqual({ y: [[9223372036854775807n, -9223372036854775808n, 7]] });
  });

  it("reads floats with long digit runs, exponents and strings of digits as usual", () => {
    const text = '[0.30000000000000004, 1.2345678901234567e300, "12345678901234567890", 1e-7]';
    const parsed = parseJsonExact(text);
    expect(parsed.hasBigInt).toBe(false);
    expect(parsed.value).toEqual([
      0.30000000000000004,
      1.2345678901234567e300,
      "12345678901234567890",
      1e-7,
    ]);
  });

  it("parses the same documents as JSON.parse on the exact path", () => {
    const text =
      ' { "a" : [ true , false , null , "x\\u00e9\\n" , -0.5 , 12345678901234567890 ] , "b" : { } , "c" : [ ] } ';
    const parsed = parseJsonExact(text);
    expect(parsed.value).toEqual({
      a: [true, false, null, "xé\n", -0.5, 12345678901234567890n],
      b: {},
      c: [],
    });
  });

  it("keeps a __proto__ key as data", () => {
    const parsed = parseJsonExact('{"__proto__": [12345678901234567890]}');
    expect(Object.keys(parsed.value as object)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
  });

  it.each([
    "[12345678901234567890,",
    "[12345678901234567890]]",
    '{"a" 12345678901234567890}',
    "[12345678901234567890, tru]",
    '["\u0001", 12345678901234567890]',
    "[01, 12345678901234567890]",
    "{bad}",
    "",
  ])("rejects invalid JSON %j", (text) => {
    expect(() => parseJsonExact(text)).toThrow(JsonSyntaxError);
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} on the exact path`, () => {
    const deep = `${"[".repeat(MAX_JSON_DEPTH + 1)}12345678901234567890${"]".repeat(MAX_JSON_DEPTH + 1)}`;
    expect(() => parseJsonExact(deep)).toThrow(/nesting deeper/);
    const ok = `${"[".repeat(MAX_JSON_DEPTH)}12345678901234567890${"]".repeat(MAX_JSON_DEPTH)}`;
    expect(parseJsonExact(ok).hasBigInt).toBe(true);
  });
});
