import { describe, expect, it } from "vitest";
import { type Datatype, type NamedTensor, numberToFp16, type TensorData } from "../tensor/index.js";
import { argmaxAgreement, compareOutputs, maxAbsDifference } from "./shadow-compare.js";

function t(name: string, datatype: Datatype, shape: number[], data: TensorData): NamedTensor {
  return { name, datatype, shape, data };
}

const probs = (data: number[]) =>
  t("probabilities", "FP32", [data.length / 3, 3], Float32Array.from(data));

describe("compareOutputs", () => {
  it("finds no difference and full agreement for identical answers", () => {
    const p = [
      probs([0.1, 0.7, 0.2, 0.8, 0.1, 0.1]),
      t("label", "INT64", [2], BigInt64Array.from([1n, 0n])),
    ];
    expect(compareOutputs(p, [...p].reverse())).toEqual({
      ok: true,
      maxAbsDiff: 0,
      agree: 2,
      disagree: 0,
    });
  });

  it("takes the largest difference over every output", () => {
    const p = [probs([0.1, 0.7, 0.2]), t("score", "FP64", [1], Float64Array.from([1]))];
    const s = [probs([0.1, 0.6, 0.2]), t("score", "FP64", [1], Float64Array.from([1.5]))];
    const result = compareOutputs(p, s);
    expect(result.ok && result.maxAbsDiff).toBeCloseTo(0.5, 9);
  });

  it("compares numeric outputs of different datatypes (a quantised shadow)", () => {
    const p = [t("y", "FP32", [2], Float32Array.from([1, 2]))];
    const s = [t("y", "FP16", [2], Uint16Array.from([numberToFp16(1), numberToFp16(2.5)]))];
    expect(compareOutputs(p, s)).toEqual({ ok: true, maxAbsDiff: 0.5, agree: 0, disagree: 0 });
  });

  it("skips BYTES and BOOL outputs of the same datatype on both sides", () => {
    const text = t("text", "BYTES", [1], [new Uint8Array([65])]);
    const flag = t("flag", "BOOL", [1], Uint8Array.from([1]));
    const other = [
      t("text", "BYTES", [1], [new Uint8Array([66])]),
      t("flag", "BOOL", [1], Uint8Array.from([0])),
    ];
    expect(compareOutputs([text, flag], other)).toEqual({
      ok: true,
      maxAbsDiff: undefined,
      agree: 0,
      disagree: 0,
    });
  });

  it("refuses a missing output, an extra output, another shape or text for numbers", () => {
    const p = [probs([0.1, 0.7, 0.2])];
    expect(compareOutputs(p, [])).toMatchObject({ ok: false });
    expect(compareOutputs(p, [t("other", "FP32", [1, 3], new Float32Array(3))])).toEqual({
      ok: false,
      reason: "the shadow did not answer output probabilities",
    });
    expect(compareOutputs(p, [...p, t("extra", "FP32", [1], new Float32Array(1))])).toMatchObject({
      ok: false,
    });
    expect(compareOutputs(p, [t("probabilities", "FP32", [3, 1], new Float32Array(3))])).toEqual({
      ok: false,
      reason: "output probabilities has shape [3,1], not [1,3]",
    });
    expect(
      compareOutputs(p, [
        t(
          "probabilities",
          "BYTES",
          [1, 3],
          [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)],
        ),
      ]),
    ).toMatchObject({ ok: false });
  });

  it("refuses a NaN where the primary had a number, but not NaN against NaN", () => {
    const p = [t("y", "FP32", [2], Float32Array.from([Number.NaN, 1]))];
    expect(
      compareOutputs(p, [t("y", "FP32", [2], Float32Array.from([Number.NaN, 1]))]),
    ).toMatchObject({
      ok: true,
      maxAbsDiff: 0,
    });
    expect(compareOutputs(p, [t("y", "FP32", [2], Float32Array.from([0, 1]))])).toMatchObject({
      ok: false,
    });
    const inf = [t("y", "FP32", [2], Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY]))];
    expect(compareOutputs(p, inf)).toMatchObject({ ok: false });
  });
});

describe("maxAbsDifference", () => {
  it("subtracts INT64 values exactly beyond 2^53", () => {
    const big = 2n ** 60n;
    const a = t("y", "INT64", [2], BigInt64Array.from([big, -5n]));
    const b = t("y", "INT64", [2], BigInt64Array.from([big + 1n, 5n]));
    expect(maxAbsDifference(a, b)).toBe(10);
    expect(maxAbsDifference(a, t("y", "INT64", [2], BigInt64Array.from([big + 3n, -5n])))).toBe(3);
  });
});

describe("argmaxAgreement", () => {
  it("counts rows whose top class moved when classes are swapped", () => {
    const p = probs([0.1, 0.7, 0.2, 0.8, 0.1, 0.1, 0.2, 0.2, 0.6]);
    // Classes 0 and 1 swapped: rows 0 and 1 change their argmax, row 2 keeps class 2.
    const s = probs([0.7, 0.1, 0.2, 0.1, 0.8, 0.1, 0.2, 0.2, 0.6]);
    expect(argmaxAgreement(p, s)).toEqual({ agree: 1, disagree: 2 });
  });

  it("uses the last axis of higher-rank outputs, one row per leading index", () => {
    const a = t("y", "FP32", [2, 2, 2], Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1]));
    const b = t("y", "FP32", [2, 2, 2], Float32Array.from([1, 0, 1, 0, 1, 0, 1, 0]));
    expect(argmaxAgreement(a, b)).toEqual({ agree: 2, disagree: 2 });
  });

  it("has no rows without a class axis", () => {
    const vector = t("y", "FP32", [3], Float32Array.from([1, 2, 3]));
    const column = t("y", "FP32", [3, 1], Float32Array.from([1, 2, 3]));
    expect(argmaxAgreement(vector, vector)).toEqual({ agree: 0, disagree: 0 });
    expect(argmaxAgreement(column, column)).toEqual({ agree: 0, disagree: 0 });
  });

  it("decodes FP16 bits before comparing", () => {
    const half = (v: number[]) => t("y", "FP16", [1, 2], Uint16Array.from(v.map(numberToFp16)));
    // As raw bits -2 (0xc000) would beat 1 (0x3c00) on one side only; as numbers 1 wins on both.
    expect(argmaxAgreement(half([1, -2]), half([1, 0.5]))).toEqual({ agree: 1, disagree: 0 });
  });
});
