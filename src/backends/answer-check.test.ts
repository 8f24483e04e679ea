import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../tensor/types.js";
import { checkAnswer, MAX_UNDECLARED_OUTPUTS } from "./answer-check.js";

const fp32 = (
  name: string,
  shape: number[],
  n = shape.reduce((a, b) => a * b, 1),
): NamedTensor => ({
  name,
  datatype: "FP32",
  shape,
  data: new Float32Array(n),
});
const rules = { maxOutputBytes: 1024 };
const check = (outputs: NamedTensor[], extra: Partial<Parameters<typeof checkAnswer>[2]> = {}) =>
  checkAnswer("b", { outputs }, { ...rules, ...extra });

describe("checkAnswer", () => {
  it("returns a sound answer as it is", () => {
    const result = { outputs: [fp32("a", [2, 3]), fp32("b", [1])], modelVersion: "1" };
    expect(checkAnswer("b", result, { ...rules, known: ["a", "b"], requested: ["a", "b"] })).toBe(
      result,
    );
  });

  it("refuses a duplicate name, an unknown one and an unrequested one", () => {
    expect(() => check([fp32("a", [1]), fp32("a", [1])])).toThrow(/output "a" twice/);
    expect(() => check([fp32("x", [1])], { known: ["a"] })).toThrow(/"x", which is not an output/);
    expect(() => check([fp32("a", [1]), fp32("b", [1])], { requested: ["a", "c"] })).toThrow(
      /"b", which was not requested/,
    );
  });

  it("bounds the count by the known or requested outputs, else MAX_UNDECLARED_OUTPUTS", () => {
    expect(() => check([fp32("a", [1]), fp32("b", [1])], { known: ["a"] })).toThrow(
      /2 outputs \(at most 1\)/,
    );
    const many = Array.from({ length: MAX_UNDECLARED_OUTPUTS + 1 }, (_, i) => fp32(`o${i}`, [0]));
    expect(() => check(many, { maxOutputBytes: 1 << 30 })).toThrow(/at most 1024/);
    expect(() => check(many.slice(1), { maxOutputBytes: 1 << 30 })).not.toThrow();
  });

  it("refuses data that does not match the shape and datatype", () => {
    expect(() => check([fp32("a", [2, 3], 5)])).toThrow(/shape \[2,3\] FP32 with 20 bytes/);
    const bytes: NamedTensor = {
      name: "s",
      datatype: "BYTES",
      shape: [2],
      data: [Uint8Array.of(1)],
    };
    expect(() => check([bytes])).toThrow(/with 1 elements/);
    expect(() => check([fp32("n", [-1], 0)])).toThrow(/bad shape/);
  });

  it("bounds the outputs' total bytes by maxOutputBytes", () => {
    expect(() => check([fp32("a", [128]), fp32("b", [128])])).not.toThrow();
    expect(() => check([fp32("a", [128]), fp32("b", [129])])).toThrow(
      /over 1024 bytes \(server.limits.maxOutputBytes\)/,
    );
    const big: NamedTensor = {
      name: "s",
      datatype: "BYTES",
      shape: [1],
      data: [new Uint8Array(2000)],
    };
    expect(() => check([big])).toThrow(/over 1024 bytes/);
  });

  it("throws BACKEND_ERROR", () => {
    expect(() => check([fp32("a", [1]), fp32("a", [1])])).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });
});
