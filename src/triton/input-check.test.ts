import { describe, expect, it } from "vitest";
import type { ModelMetadata } from "../backends/types.js";
import type { InferRequest } from "../gateway/types.js";
import { checkInputsAsTriton } from "./input-check.js";

const metadata: ModelMetadata = {
  name: "simple",
  versions: ["1"],
  platform: "onnxruntime_onnx",
  inputs: [
    { name: "INPUT0", datatype: "INT32", shape: [-1, 16] },
    { name: "INPUT1", datatype: "INT32", shape: [-1, 16] },
  ],
  outputs: [{ name: "OUTPUT0", datatype: "INT32", shape: [-1, 16] }],
};
const int32 = (name: string, shape: number[]) => ({
  name,
  datatype: "INT32" as const,
  shape,
  data: new Int32Array(shape.reduce((a, b) => a * b, 1)),
});
const check = (request: InferRequest) => () => checkInputsAsTriton("simple", metadata, request);

describe("checkInputsAsTriton", () => {
  it("passes a request that fits", () => {
    expect(check({ inputs: [int32("INPUT0", [2, 16]), int32("INPUT1", [2, 16])] })).not.toThrow();
  });

  it("words an unknown input, a missing one, a datatype and a shape as Triton does", () => {
    expect(check({ inputs: [int32("INPUTX", [1, 16])] })).toThrow(
      "unexpected inference input 'INPUTX' for model 'simple'",
    );
    expect(check({ inputs: [int32("INPUT0", [1, 16])] })).toThrow(
      "expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], but missing required input(s) ['INPUT1']. Please provide all required input(s).",
    );
    const fp32 = {
      name: "INPUT0",
      datatype: "FP32" as const,
      shape: [1, 16],
      data: new Float32Array(16),
    };
    expect(check({ inputs: [fp32] })).toThrow(
      "inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'",
    );
    expect(check({ inputs: [int32("INPUT0", [1, 8])] })).toThrow(
      "unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [1,8]",
    );
    expect(
      check({ inputs: [int32("INPUT0", [1, 16]), int32("INPUT1", [1, 16])], outputs: ["NOPE"] }),
    ).toThrow("unexpected inference output 'NOPE' for model 'simple'");
  });
});
