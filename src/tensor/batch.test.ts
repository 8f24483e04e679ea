import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import { concatDim0, splitDim0 } from "./batch.js";
import type { Tensor } from "./types.js";

function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error("expected a GatewayError");
}

function invalid(fn: () => unknown): string {
  const err = failure(fn);
  expect(err.code).toBe("INVALID_REQUEST");
  return err.message;
}

const fp32 = (shape: number[], values: number[]): Tensor => ({
  datatype: "FP32",
  shape,
  data: new Float32Array(values),
});

describe("concatDim0", () => {
  it("stacks rows of fixed-size tensors in order", () => {
    const out = concatDim0([fp32([1, 2], [1, 2]), fp32([2, 2], [3, 4, 5, 6]), fp32([0, 2], [])]);
    expect(out).toEqual(fp32([3, 2], [1, 2, 3, 4, 5, 6]));
  });

  it("does not alias the parts", () => {
    const data = new Float32Array([1]);
    const out = concatDim0([{ datatype: "FP32", shape: [1], data }, fp32([1], [2])]);
    data[0] = 9;
    expect(out.data).toEqual(new Float32Array([1, 2]));
  });

  it("stacks BYTES and 64-bit tensors", () => {
    const words = (...s: string[]) => s.map((x) => new TextEncoder().encode(x));
    const out = concatDim0([
      { datatype: "BYTES", shape: [1], data: words("a") },
      { datatype: "BYTES", shape: [2], data: words("bc", "") },
    ]);
    expect(out).toEqual({ datatype: "BYTES", shape: [3], data: words("a", "bc", "") });
    const big = concatDim0([
      { datatype: "INT64", shape: [1, 1], data: new BigInt64Array([-1n]) },
      { datatype: "INT64", shape: [1, 1], data: new BigInt64Array([2n ** 62n]) },
    ]);
    expect(big.data).toEqual(new BigInt64Array([-1n, 2n ** 62n]));
  });

  it("rejects incompatible inputs with INVALID_REQUEST", () => {
    expect(invalid(() => concatDim0([]))).toMatch(/zero tensors/);
    expect(invalid(() => concatDim0([fp32([], [1]), fp32([], [2])]))).toMatch(/rank-0/);
    const int: Tensor = { datatype: "INT32", shape: [1, 2], data: new Int32Array(2) };
    expect(invalid(() => concatDim0([fp32([1, 2], [1, 2]), int]))).toMatch(
      /tensor 1 is INT32, tensor 0 is FP32/,
    );
    expect(invalid(() => concatDim0([fp32([1, 2], [1, 2]), fp32([1, 1, 2], [1, 2])]))).toMatch(
      /tensor 1 has shape \[1,1,2\], tensor 0 has \[1,2\]/,
    );
    expect(invalid(() => concatDim0([fp32([1, 2], [1, 2]), fp32([2, 1], [1, 2])]))).toMatch(
      /dimensions after the first must match/,
    );
  });

  it("reports storage that does not fit its shape as an internal bug", () => {
    const broken = fp32([2, 2], [1, 2, 3]);
    expect(failure(() => concatDim0([fp32([1, 2], [1, 2]), broken])).code).toBe("INTERNAL");
    const wrongKind: Tensor = { datatype: "FP32", shape: [1], data: new Float64Array(1) };
    expect(failure(() => concatDim0([fp32([1], [1]), wrongKind])).code).toBe("INTERNAL");
  });
});

describe("splitDim0", () => {
  it("splits rows into parts of the given sizes, copying each", () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const parts = splitDim0({ datatype: "FP32", shape: [3, 2], data }, [2, 0, 1]);
    expect(parts).toEqual([fp32([2, 2], [1, 2, 3, 4]), fp32([0, 2], []), fp32([1, 2], [5, 6])]);
    data[0] = 9;
    expect(parts[0]?.data).toEqual(new Float32Array([1, 2, 3, 4]));
  });

  it("rejects bad sizes with INVALID_REQUEST", () => {
    const whole = fp32([3], [1, 2, 3]);
    expect(invalid(() => splitDim0(whole, [1, 1]))).toMatch(
      /sum to 2 but dimension 0 of shape \[3\] is 3/,
    );
    expect(invalid(() => splitDim0(whole, [4, -1]))).toMatch(
      /split size 1 must be a non-negative integer, got -1/,
    );
    expect(invalid(() => splitDim0(whole, [1.5, 1.5]))).toMatch(/split size 0 .* got 1.5/);
    expect(invalid(() => splitDim0(fp32([], [1]), [1]))).toMatch(/rank-0/);
  });
});
