import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { bf16ToNumber, fp16ToNumber, numberToBf16, numberToFp16 } from "./half.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Reference float32 -> bfloat16 (the usual bit trick; exact for float32 inputs). */
function bf16FromFloat32Bits(bits: number): number {
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

describe("FP16", () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -14 - 2 ** -24, 0x03ff], // largest subnormal
    [0, 0x0000],
    [-0, 0x8000],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [1 / 3, 0x3555],
  ])("encodes %d as %#x", (value, bits) => {
    expect(numberToFp16(value)).toBe(bits);
  });

  it("decodes known bit patterns", () => {
    expect(fp16ToNumber(0x3c00)).toBe(1);
    expect(fp16ToNumber(0x7bff)).toBe(65504);
    expect(fp16ToNumber(0x0001)).toBe(2 ** -24);
    expect(Object.is(fp16ToNumber(0x8000), -0)).toBe(true);
    expect(fp16ToNumber(0x7c00)).toBe(Number.POSITIVE_INFINITY);
    expect(fp16ToNumber(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(fp16ToNumber(0x7e00)).toBeNaN();
    expect(fp16ToNumber(0xfc01)).toBeNaN();
  });

  it("encodes NaN as the canonical quiet NaN", () => {
    expect(numberToFp16(Number.NaN)).toBe(0x7e00);
  });

  it("rounds to nearest, ties to even", () => {
    // 1 + 2^-11 is exactly between 0x3C00 (even) and 0x3C01: ties to even goes down.
    expect(numberToFp16(1 + 2 ** -11)).toBe(0x3c00);
    // 1 + 3·2^-11 is between 0x3C01 (odd) and 0x3C02 (even): goes up.
    expect(numberToFp16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    // Just above a tie rounds up — a double-rounding trap if converted through float32 first.
    expect(numberToFp16(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    // Subnormal tie: 2.5 units of 2^-24 rounds to 2 units, 3.5 to 4.
    expect(numberToFp16(2.5 * 2 ** -24)).toBe(0x0002);
    expect(numberToFp16(3.5 * 2 ** -24)).toBe(0x0004);
    // Half the smallest subnormal ties to 0; just above it rounds up.
    expect(numberToFp16(2 ** -25)).toBe(0x0000);
    expect(numberToFp16(2 ** -25 + 2 ** -60)).toBe(0x0001);
    // Rounding a subnormal up into the smallest normal.
    expect(numberToFp16(2 ** -14 - 2 ** -26)).toBe(0x0400);
  });

  it("overflows to infinity like an IEEE cast", () => {
    expect(numberToFp16(65519.99)).toBe(0x7bff);
    expect(numberToFp16(65520)).toBe(0x7c00); // the tie between 65504 and 65536 goes to even (Inf)
    expect(numberToFp16(-1e10)).toBe(0xfc00);
    expect(numberToFp16(Number.MAX_VALUE)).toBe(0x7c00);
    expect(numberToFp16(Number.MIN_VALUE)).toBe(0x0000);
    expect(numberToFp16(-Number.MIN_VALUE)).toBe(0x8000);
  });

  it("round-trips every non-NaN bit pattern", () => {
    const wrong: number[] = [];
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = fp16ToNumber(bits);
      if (!Number.isNaN(value) && numberToFp16(value) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it("encodes any double as the nearest half, ties to even", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, min: -70000, max: 70000 }), (x) => {
        const bits = numberToFp16(x);
        const v = fp16ToNumber(bits);
        const magnitude = bits & 0x7fff;
        if (magnitude === 0x7c00) return Math.abs(x) >= 65520;
        // Neighbours one unit above and below (same sign): v must be at least as close as both.
        const up = fp16ToNumber((bits & 0x8000) | (magnitude + 1));
        const down = magnitude === 0 ? -v : fp16ToNumber((bits & 0x8000) | (magnitude - 1));
        const err = Math.abs(x - v);
        if (err > Math.abs(x - up) || err > Math.abs(x - down)) return false;
        const tie = err === Math.abs(x - up) || (magnitude > 0 && err === Math.abs(x - down));
        return !tie || err === 0 || (bits & 1) === 0;
      }),
      { numRuns: 5000 },
    );
  });
});

describe("BF16", () => {
  it("converts known bit patterns", () => {
    expect(numberToBf16(1)).toBe(0x3f80);
    expect(numberToBf16(-2)).toBe(0xc000);
    expect(numberToBf16(-0)).toBe(0x8000);
    expect(numberToBf16(Number.POSITIVE_INFINITY)).toBe(0x7f80);
    expect(numberToBf16(Number.NaN)).toBe(0x7fc0);
    expect(numberToBf16(3.4e38)).toBe(0x7f80); // above the largest bf16 (≈3.39e38) → Inf
    expect(bf16ToNumber(0x3f80)).toBe(1);
    expect(bf16ToNumber(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(bf16ToNumber(0x7f7f)).toBe(3.3895313892515355e38);
    expect(bf16ToNumber(0xff80)).toBe(Number.NEGATIVE_INFINITY);
    expect(bf16ToNumber(0x7fc0)).toBeNaN();
  });

  it("rounds to nearest, ties to even, without double rounding through float32", () => {
    expect(numberToBf16(1 + 2 ** -8)).toBe(0x3f80); // tie → even (down)
    expect(numberToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82); // tie → even (up)
    // Rounds to the tie 1 + 2^-8 as a float32 (then down), but as a double it is above the tie.
    expect(numberToBf16(1 + 2 ** -8 + 2 ** -30)).toBe(0x3f81);
  });

  it("round-trips every non-NaN bit pattern", () => {
    const wrong: number[] = [];
    for (let bits = 0; bits <= 0xffff; bits++) {
      const value = bf16ToNumber(bits);
      if (!Number.isNaN(value) && numberToBf16(value) !== bits) wrong.push(bits);
    }
    expect(wrong).toEqual([]);
  });

  it("matches the float32 bit-trick reference for every float32 value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (bits) => {
        u32[0] = bits;
        const x = f32[0] ?? 0;
        if (Number.isNaN(x)) return true;
        return numberToBf16(x) === bf16FromFloat32Bits(bits);
      }),
      { numRuns: 20000 },
    );
  });
});
