import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import {
  checkDatatype,
  checkShape,
  elementCount,
  elementSize,
  emptyData,
  isDatatype,
  MAX_EMPTY_ROWS,
  tensorByteLength,
} from "./datatype.js";
import { DATATYPES } from "./types.js";

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

describe("elementSize", () => {
  it("matches the KServe v2 table", () => {
    const sizes = DATATYPES.map((dt) => [dt, elementSize(dt)]);
    expect(Object.fromEntries(sizes)).toEqual({
      BOOL: 1,
      UINT8: 1,
      UINT16: 2,
      UINT32: 4,
      UINT64: 8,
      INT8: 1,
      INT16: 2,
      INT32: 4,
      INT64: 8,
      FP16: 2,
      BF16: 2,
      FP32: 4,
      FP64: 8,
      BYTES: 0,
    });
  });

  it("agrees with the storage emptyData allocates", () => {
    for (const dt of DATATYPES) {
      const data = emptyData(dt, 3);
      expect(data.length).toBe(3);
      if (Array.isArray(data)) {
        expect(dt).toBe("BYTES");
        expect(data.every((b) => b.length === 0)).toBe(true);
      } else {
        expect(data.BYTES_PER_ELEMENT).toBe(elementSize(dt));
      }
    }
  });
});

describe("elementCount / isDatatype", () => {
  it("multiplies dimensions, 1 for a scalar", () => {
    expect(elementCount([])).toBe(1);
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([5, 0, 7])).toBe(0);
  });

  it("recognizes exactly the datatype names", () => {
    expect(isDatatype("FP32")).toBe(true);
    expect(isDatatype("BYTES")).toBe(true);
    expect(isDatatype("fp32")).toBe(false);
    expect(isDatatype("FLOAT")).toBe(false);
    expect(isDatatype(3)).toBe(false);
    expect(isDatatype(undefined)).toBe(false);
  });
});

describe("tensorByteLength", () => {
  it("is the raw size", () => {
    expect(tensorByteLength({ datatype: "FP32", shape: [2, 3], data: new Float32Array(6) })).toBe(
      24,
    );
    const words = [new Uint8Array([1, 2, 3]), new Uint8Array(0)];
    expect(tensorByteLength({ datatype: "BYTES", shape: [2], data: words })).toBe(4 + 3 + 4);
  });
});

describe("checkShape", () => {
  it("returns the element count of a good shape", () => {
    expect(checkShape([])).toBe(1);
    expect(checkShape([2, 0])).toBe(0);
    expect(checkShape([64, 256])).toBe(16384);
  });

  it.each([
    [[-1, 2], /dimension 0 must be a non-negative integer, got -1/],
    [[2, 1.5], /dimension 1 must be a non-negative integer, got 1.5/],
    [[2, "3"], /dimension 1 must be a non-negative integer, got "3"/],
    [[null], /dimension 0 must be a non-negative integer, got null/],
    ["2,3", /shape must be an array/],
    [new Array(33).fill(1), /rank 33; at most 32/],
    [[2 ** 30, 2 ** 30, 2 ** 30], /too many elements/],
    [[MAX_EMPTY_ROWS + 1, 0], /empty rows/],
  ])("rejects %j", (shape, message) => {
    expect(invalid(() => checkShape(shape))).toMatch(message);
  });
});

describe("checkDatatype", () => {
  it("passes datatype names and rejects others", () => {
    expect(checkDatatype("INT64")).toBe("INT64");
    expect(invalid(() => checkDatatype("FLOAT32"))).toMatch(/unknown datatype "FLOAT32"/);
    expect(invalid(() => checkDatatype(7))).toMatch(/unknown datatype number/);
  });
});
