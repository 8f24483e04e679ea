import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import { tensorFromJsonData, tensorFromNested } from "./json-in.js";
import { tensorToFlatJson, tensorToNested } from "./json-out.js";
import type { Datatype } from "./types.js";

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    if (err instanceof GatewayError) {
      expect(err.code).toBe("INVALID_REQUEST");
      return err.message;
    }
  }
  throw new Error("expected an InvalidRequestError");
}

function deeplyNested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe("tensorFromNested", () => {
  it("takes the shape from the nesting and infers FP32 for numbers", () => {
    const t = tensorFromNested([
      [0.5, 1, 2],
      [3, 4, 5],
    ]);
    expect(t.datatype).toBe("FP32");
    expect(t.shape).toEqual([2, 3]);
    expect(t.data).toEqual(new Float32Array([0.5, 1, 2, 3, 4, 5]));
  });

  it("infers BOOL for booleans and BYTES (UTF-8) for strings", () => {
    const b = tensorFromNested([true, false]);
    expect(b.datatype).toBe("BOOL");
    expect(b.data).toEqual(new Uint8Array([1, 0]));
    const s = tensorFromNested([["hé"], ["x"]]);
    expect(s.datatype).toBe("BYTES");
    expect(s.shape).toEqual([2, 1]);
    expect(s.data).toEqual([new Uint8Array([0x68, 0xc3, 0xa9]), new Uint8Array([0x78])]);
  });

  it("treats a scalar as shape [] and an empty array as FP32 [0]", () => {
    expect(tensorFromNested(7)).toEqual({
      datatype: "FP32",
      shape: [],
      data: new Float32Array([7]),
    });
    expect(tensorFromNested([])).toEqual({
      datatype: "FP32",
      shape: [0],
      data: new Float32Array(),
    });
    expect(tensorFromNested([[], []], "INT32")).toEqual({
      datatype: "INT32",
      shape: [2, 0],
      data: new Int32Array(),
    });
  });

  it("uses the given datatype", () => {
    const t = tensorFromNested([[1, -2]], "INT8");
    expect(t.data).toEqual(new Int8Array([1, -2]));
    expect(tensorFromNested([1.5], "FP64").data).toEqual(new Float64Array([1.5]));
    expect(tensorFromNested([1, 1e6], "FP16").data).toEqual(new Uint16Array([0x3c00, 0x7c00]));
    expect(tensorFromNested([1], "BF16").data).toEqual(new Uint16Array([0x3f80]));
  });

  it("takes 64-bit integers as numbers or decimal strings, checked with BigInt", () => {
    const t = tensorFromNested(["9223372036854775807", -5, "-9223372036854775808"], "INT64");
    expect(t.data).toEqual(new BigInt64Array([2n ** 63n - 1n, -5n, -(2n ** 63n)]));
    const u = tensorFromNested(["18446744073709551615", "007"], "UINT64");
    expect(u.data).toEqual(new BigUint64Array([2n ** 64n - 1n, 7n]));
  });

  it.each<[unknown, Datatype | undefined, RegExp]>([
    [
      [
        [1, 2, 3, 4],
        [1, 2, 3],
      ],
      undefined,
      /ragged array at \[1\]: expected length 4, got 3$/,
    ],
    [[[1, 2], 3], undefined, /ragged array at \[1\]: expected an array of length 2, got number 3/],
    [
      [
        [[1], [2]],
        [[3], [4, 5]],
      ],
      undefined,
      /ragged array at \[1\]\[1\]: expected length 1, got 2$/,
    ],
    [[1, [2]], undefined, /ragged array at \[1\]/],
    [[1, true], undefined, /mixed element kinds at \[1\].*FP32.*got boolean true/],
    [[["a"], [2]], undefined, /mixed element kinds at \[1\]\[0\].*BYTES.*got number 2/],
    [[1, null], undefined, /at \[1\].*got null/],
    [[{}, 1], undefined, /tensor element \[0\] must be a number, boolean or string.*an object/],
    [null, undefined, /a tensor must be a number, boolean or string/],
    [[1, { a: 1 }], "FP32", /invalid FP32 element at \[1\]: expected a number, got an object/],
    [
      [300],
      "UINT8",
      /invalid UINT8 element at \[0\]: expected an integer in \[0, 255\], got number 300/,
    ],
    [[-1], "UINT32", /invalid UINT32 element at \[0\].*\[0, 4294967295\], got number -1/],
    [[[1, 1.5]], "INT32", /invalid INT32 element at \[0\]\[1\].*got number 1.5/],
    [[128], "INT8", /INT8 .*\[-128, 127\]/],
    [["1"], "INT32", /invalid INT32 element at \[0\].*got string "1"/],
    [["1.5"], "FP32", /invalid FP32 element at \[0\]: expected a number, got string "1.5"/],
    [[1], "BOOL", /invalid BOOL element at \[0\]: expected true or false, got number 1/],
    [[1], "BYTES", /invalid BYTES element at \[0\]: expected a string, got number 1/],
    [["9223372036854775808"], "INT64", /invalid INT64 element at \[0\]/],
    [["-1"], "UINT64", /invalid UINT64 element at \[0\]/],
    [[2 ** 64], "UINT64", /invalid UINT64 element/],
    [[1.5], "INT64", /invalid INT64 element at \[0\].*got number 1.5/],
    [["12a"], "INT64", /invalid INT64 element.*"12a"/],
    [["1e3"], "INT64", /invalid INT64 element/],
    [["1".repeat(50)], "UINT64", /invalid UINT64 element/],
    [[1], "FLOAT" as Datatype, /unknown datatype "FLOAT"/],
  ])("rejects %j as %s", (value, datatype, message) => {
    expect(invalid(() => tensorFromNested(value, datatype))).toMatch(message);
  });

  it("bounds the rank at 32", () => {
    expect(tensorFromNested(deeplyNested(32)).shape).toHaveLength(32);
    expect(invalid(() => tensorFromNested(deeplyNested(33)))).toMatch(/nested more than 32 deep/);
  });

  it("rejects a first row that claims a huge shape the other rows do not have", () => {
    const claim = [
      Array.from({ length: 1000 }, () => new Array(16).fill(1)),
      ...new Array(999).fill([]),
    ];
    expect(invalid(() => tensorFromNested(claim))).toMatch(
      /ragged array at \[1\]: expected length 1000, got 0$/,
    );
  });

  it("rejects a 100,000-deep array without overflowing the stack", () => {
    const deep = JSON.parse(`${"[".repeat(100_000)}${"]".repeat(100_000)}`);
    expect(invalid(() => tensorFromNested(deep))).toMatch(/nested more than 32 deep/);
    const deepLeaf = [1, deeplyNested(100_000)];
    expect(invalid(() => tensorFromNested(deepLeaf))).toMatch(/ragged array at \[1\]/);
  });
});

describe("tensorFromJsonData", () => {
  it("accepts flat and nested row-major data", () => {
    const flat = tensorFromJsonData("INT64", [2, 2], [1, 2, 3, 4]);
    expect(flat).toEqual({
      datatype: "INT64",
      shape: [2, 2],
      data: new BigInt64Array([1n, 2n, 3n, 4n]),
    });
    const nested = tensorFromJsonData(
      "INT64",
      [2, 2],
      [
        [1, 2],
        [3, 4],
      ],
    );
    expect(nested).toEqual(flat);
    expect(tensorFromJsonData("BOOL", [], true).data).toEqual(new Uint8Array([1]));
    expect(tensorFromJsonData("FP32", [0, 3], []).shape).toEqual([0, 3]);
  });

  it("does not keep a reference to the caller's shape array", () => {
    const shape = [2];
    const t = tensorFromJsonData("FP32", shape, [1, 2]);
    shape[0] = 5;
    expect(t.shape).toEqual([2]);
  });

  it.each<[Datatype, unknown, unknown, RegExp]>([
    ["FP32", [2, 2], [1, 2, 3], /data has 3 elements but shape \[2,2\] needs 4/],
    ["FP32", [2], [[1, 2], [3]], /ragged array at \[1\]: expected length 2, got 1$/],
    ["FP32", [-1, 2], [1, 2], /dimension 0 must be a non-negative integer, got -1/],
    ["FP32", [2.5], [1, 2], /dimension 0 must be a non-negative integer, got 2.5/],
    ["FP32", [2], undefined, /data is missing/],
    ["INT32", [2], [1, 2.5], /invalid INT32 element at \[1\]/],
    [
      "INT32",
      [2, 2],
      [
        [1, 2],
        [3, "x"],
      ],
      /invalid INT32 element at \[1\]\[1\].*"x"/,
    ],
    ["NOPE" as Datatype, [1], [1], /unknown datatype "NOPE"/],
  ])("rejects %s %j %j", (datatype, shape, data, message) => {
    const call = () => tensorFromJsonData(datatype, shape as number[], data);
    expect(invalid(call)).toMatch(message);
  });
});

describe("tensorToFlatJson / tensorToNested", () => {
  it("writes 64-bit integers, halves, booleans and bytes as JSON values", () => {
    expect(
      tensorToFlatJson({
        datatype: "INT64",
        shape: [2],
        data: new BigInt64Array([-3n, 2n ** 40n]),
      }),
    ).toEqual([-3, 2 ** 40]);
    expect(
      tensorToFlatJson({
        datatype: "UINT64",
        shape: [1],
        data: new BigUint64Array([2n ** 64n - 1n]),
      }),
    ).toEqual([2n ** 64n - 1n]); // beyond 2^53: kept exact, for stringifyExact to write
    expect(
      tensorToFlatJson({ datatype: "FP16", shape: [2], data: new Uint16Array([0x3c00, 0xfc00]) }),
    ).toEqual([1, Number.NEGATIVE_INFINITY]);
    expect(
      tensorToFlatJson({ datatype: "BF16", shape: [1], data: new Uint16Array([0xc000]) }),
    ).toEqual([-2]);
    expect(
      tensorToFlatJson({ datatype: "BOOL", shape: [2], data: new Uint8Array([0, 1]) }),
    ).toEqual([false, true]);
    const bytes = [new Uint8Array([0x68, 0xc3, 0xa9]), new Uint8Array([0x68, 0, 0x69])];
    expect(tensorToFlatJson({ datatype: "BYTES", shape: [2], data: bytes })).toEqual([
      "hé",
      "h\u0000i",
    ]);
  });

  it("refuses BYTES that are not UTF-8 rather than write U+FFFD in their place", () => {
    const bytes = [new Uint8Array([0x68]), new Uint8Array([0xff])];
    expect(() => tensorToFlatJson({ datatype: "BYTES", shape: [2], data: bytes })).toThrow(
      /BYTES element 1 is not valid UTF-8.*binary form/,
    );
  });

  it("nests by the real shape, including zero-size dimensions and scalars", () => {
    const data = new Int32Array([1, 2, 3, 4, 5, 6]);
    expect(tensorToNested({ datatype: "INT32", shape: [2, 3], data })).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    expect(tensorToNested({ datatype: "INT32", shape: [3, 1, 2], data })).toEqual([
      [[1, 2]],
      [[3, 4]],
      [[5, 6]],
    ]);
    expect(tensorToNested({ datatype: "INT32", shape: [6], data })).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensorToNested({ datatype: "FP32", shape: [], data: new Float32Array([2.5]) })).toBe(
      2.5,
    );
    const empty = new Float32Array();
    expect(tensorToNested({ datatype: "FP32", shape: [2, 0, 3], data: empty })).toEqual([[], []]);
    expect(tensorToNested({ datatype: "FP32", shape: [0, 3], data: empty })).toEqual([]);
  });
});
