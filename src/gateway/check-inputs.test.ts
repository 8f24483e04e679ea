import { describe, expect, it } from "vitest";
import type { ModelMetadata } from "../backends/types.js";
import type { NamedTensor } from "../tensor/types.js";
import { checkRequest } from "./check-inputs.js";

const meta: ModelMetadata = {
  name: "ops",
  versions: ["1"],
  platform: "onnxruntime_onnx",
  inputs: [
    { name: "a", datatype: "FP32", shape: [-1, 4] },
    { name: "b", datatype: "FP32", shape: [-1, 4] },
  ],
  outputs: [{ name: "sum", datatype: "FP32", shape: [-1, 4] }],
};
const fp32 = (name: string, shape: number[]): NamedTensor => ({
  name,
  datatype: "FP32",
  shape,
  data: new Float32Array(shape.reduce((a, b) => a * b, 1)),
});

describe("checkRequest", () => {
  it("accepts inputs that fit, with any size on a -1 dimension", () => {
    expect(() => checkRequest(meta, [fp32("a", [3, 4]), fp32("b", [3, 4])], ["sum"])).not.toThrow();
  });
  it.each([
    [
      "an unknown input",
      [fp32("a", [1, 4]), fp32("c", [1, 4])],
      undefined,
      'unknown input "c" for model "ops"; expected "a", "b"',
    ],
    ["a missing input", [fp32("a", [1, 4])], undefined, 'missing input "b"'],
    [
      "a duplicated input",
      [fp32("a", [1, 4]), fp32("a", [1, 4])],
      undefined,
      'input "a" given twice',
    ],
    [
      "a wrong fixed dimension",
      [fp32("a", [1, 3]), fp32("b", [1, 4])],
      undefined,
      'input "a": expected shape [-1,4], got [1,3]',
    ],
    [
      "a wrong rank",
      [fp32("a", [4]), fp32("b", [1, 4])],
      undefined,
      'input "a": expected shape [-1,4], got [4]',
    ],
    [
      "an unknown output",
      [fp32("a", [1, 4]), fp32("b", [1, 4])],
      ["mean"],
      'unknown output "mean" for model "ops"; expected "sum"',
    ],
  ])("rejects %s with INVALID_REQUEST", (_label, inputs, outputs, message) => {
    expect(() => checkRequest(meta, inputs, outputs)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message }),
    );
  });
  it("rejects a wrong datatype", () => {
    const int32: NamedTensor = {
      name: "a",
      datatype: "INT32",
      shape: [1, 4],
      data: new Int32Array(4),
    };
    expect(() => checkRequest(meta, [int32, fp32("b", [1, 4])], undefined)).toThrow(
      expect.objectContaining({
        code: "INVALID_REQUEST",
        message: 'input "a": expected datatype FP32, got INT32',
      }),
    );
  });
});
