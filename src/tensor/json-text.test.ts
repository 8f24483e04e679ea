import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  JsonSyntaxError,
  MAX_JSON_DEPTH,
  nestedJsonText,
  parseJsonExact,
  parseJsonSlow,
  stringifyExact,
} from "./json-text.js";

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

describe("non-finite numbers, as Triton's JSON reader and writer take them", () => {
  it("parses NaN, Infinity, -Infinity and rapidjson's Inf / -Inf", () => {
    const parsed = parseJsonSlow("[NaN, Infinity, -Infinity, Inf, -Inf, -1.5]");
    expect(parsed.value).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      -1.5,
    ]);
    expect(parseJsonExact('{"y":[NaN]}').value).toEqual({ y: [Number.NaN] });
  });

  it.each(["[nan]", "[-NaN]", "[infinity]", "[Infinit]"])("rejects %s", (text) => {
    expect(() => parseJsonSlow(text)).toThrow(JsonSyntaxError);
  });

  it("writes NaN and ±Infinity as tokens, bigints as digits, the rest as JSON.stringify", () => {
    const value = {
      a: [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0.1],
      b: 2n ** 64n - 1n,
      c: 'q"\u0000é',
      d: [true, null, { e: [] }],
      skipped: undefined,
    };
    expect(stringifyExact(value)).toBe(
      '{"a":[NaN,Infinity,-Infinity,0.1],"b":18446744073709551615,"c":"q\\"\\u0000é","d":[true,null,{"e":[]}]}',
    );
  });

  it("writes finite documents exactly as JSON.stringify does", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        expect(stringifyExact(value)).toBe(JSON.stringify(value));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips 64-bit integers at every edge and non-finite doubles through text", () => {
    const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n });
    const edges = fc.constantFrom(
      -(2n ** 63n),
      2n ** 63n - 1n,
      2n ** 64n - 1n,
      2n ** 53n + 1n,
      -(2n ** 53n) - 1n,
    );
    const double = fc.double().filter((x) => !Object.is(x, -0));
    const safe = (v: bigint) => (v >= -(2n ** 53n - 1n) && v <= 2n ** 53n - 1n ? Number(v) : v);
    fc.assert(
      fc.property(fc.array(fc.oneof(int64.map(safe), edges, double)), (values) => {
        const back = parseJsonSlow(stringifyExact(values)).value;
        // A double that is an integer beyond 2^53 is written as its shortest integer literal
        // (below 1e21), which reads back as a bigint of those digits: Number() of it is the double.
        const expected = values.map((v) =>
          typeof v === "number" &&
          Number.isInteger(v) &&
          !Number.isSafeInteger(v) &&
          Math.abs(v) < 1e21
            ? BigInt(JSON.stringify(v))
            : v,
        );
        expect(back).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});

describe("nestedJsonText with non-finite floats", () => {
  it("writes NaN and ±Infinity tokens in their place", () => {
    const fp32 = Float32Array.from([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      -1,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(nestedJsonText({ datatype: "FP32", shape: [2, 2], data: fp32 })).toBe(
      "[[NaN,Infinity],[-1,-Infinity]]",
    );
  });
});
