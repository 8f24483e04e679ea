import { describe, expect, it } from "vitest";
import type {
  WireInferOutputTensor,
  WireModelInferResponse,
} from "../../protocols/kserve/proto.js";
import type { NamedTensor } from "../../tensor/index.js";
import { buildGrpcInferRequest, readGrpcInferResponse } from "./grpc-codec.js";
import { metadataFrom } from "./wire.js";

const utf8 = new TextEncoder();

function output(
  name: string,
  datatype: string,
  shape: string[],
  contents: WireInferOutputTensor["contents"] = null,
): WireInferOutputTensor {
  return { name, datatype, shape, parameters: {}, contents };
}

function response(
  outputs: WireInferOutputTensor[],
  raw: Uint8Array[] = [],
  version = "",
): WireModelInferResponse {
  return {
    model_name: "m",
    model_version: version,
    id: "",
    parameters: {},
    outputs,
    raw_output_contents: raw,
  };
}

describe("buildGrpcInferRequest", () => {
  it("puts every input in raw_input_contents with int64 shapes and no typed contents", () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "BF16",
      shape: [1, 2],
      data: Uint16Array.from([0x3f80, 0xc000]),
    };
    const s: NamedTensor = { name: "s", datatype: "BYTES", shape: [1], data: [utf8.encode("é")] };
    const wire = buildGrpcInferRequest(
      { backend: "t", model: "m" },
      {
        inputs: [x, s],
        outputs: ["y"],
        id: "r9",
        deadline: Date.now() + 1000,
        signal: new AbortController().signal,
      },
    );
    expect(wire.model_name).toBe("m");
    expect(wire.model_version).toBe("");
    expect(wire.id).toBe("r9");
    expect(wire.inputs).toEqual([
      { name: "x", datatype: "BF16", shape: ["1", "2"], parameters: {}, contents: null },
      { name: "s", datatype: "BYTES", shape: ["1"], parameters: {}, contents: null },
    ]);
    expect(wire.outputs).toEqual([{ name: "y", parameters: {} }]);
    expect(wire.raw_input_contents.map((b) => Array.from(b))).toEqual([
      [0x80, 0x3f, 0x00, 0xc0],
      [2, 0, 0, 0, 0xc3, 0xa9],
    ]);
  });

  it("names the target's version and asks all outputs when none are requested", () => {
    const wire = buildGrpcInferRequest(
      { backend: "t", model: "m", version: "7" },
      { inputs: [], deadline: 0, signal: new AbortController().signal },
    );
    expect(wire.model_version).toBe("7");
    expect(wire.outputs).toEqual([]);
  });
});

describe("readGrpcInferResponse", () => {
  it("reads raw_output_contents", () => {
    const raw = new Uint8Array(BigUint64Array.of(2n ** 64n - 1n).buffer);
    const result = readGrpcInferResponse("t", response([output("u", "UINT64", ["1"])], [raw], "2"));
    expect(result.modelVersion).toBe("2");
    expect(result.outputs[0]).toMatchObject({ name: "u", datatype: "UINT64", shape: [1] });
    expect(Array.from(result.outputs[0]?.data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
  });

  it("falls back to typed contents when the server answers typed", () => {
    const result = readGrpcInferResponse(
      "t",
      response([
        output("i", "INT64", ["2"], { int64_contents: ["9223372036854775807", "-1"] }),
        output("b", "BOOL", ["2"], { bool_contents: [true, false] }),
        output("s", "BYTES", ["1"], { bytes_contents: [utf8.encode("ab")] }),
        output("u", "UINT8", ["1"], { uint_contents: [255] }),
      ]),
    );
    expect(result.modelVersion).toBeUndefined();
    expect(Array.from(result.outputs[0]?.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -1n]);
    expect(Array.from(result.outputs[1]?.data as Uint8Array)).toEqual([1, 0]);
    expect(result.outputs[2]?.data).toEqual([Uint8Array.from([97, 98])]);
    expect(Array.from(result.outputs[3]?.data as Uint8Array)).toEqual([255]);
  });

  it.each([
    [
      "raw count differs from outputs",
      response([output("a", "FP32", ["1"])], [new Uint8Array(4), new Uint8Array(4)]),
    ],
    [
      "raw size differs from the shape",
      response([output("a", "FP32", ["2"])], [new Uint8Array(4)]),
    ],
    [
      "typed count differs from the shape",
      response([output("a", "FP32", ["2"], { fp32_contents: [1] })]),
    ],
    ["FP16 without raw contents", response([output("a", "FP16", ["1"], {})])],
    ["an unknown datatype", response([output("a", "COMPLEX", ["1"])], [new Uint8Array(8)])],
    ["a bad dimension", response([output("a", "FP32", ["x"])], [new Uint8Array(4)])],
    ["an empty dimension", response([output("a", "FP32", [""])], [new Uint8Array(0)])],
  ])("a malformed answer (%s) is BACKEND_ERROR", (_label, wire) => {
    expect(() => readGrpcInferResponse("t", wire)).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });
});

describe("metadataFrom", () => {
  it("reads int64 shapes (decimal strings) and -1 dimensions", () => {
    const meta = metadataFrom("t", "iris", {
      name: "iris",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: ["-1", "4"] }],
      outputs: [{ name: "label", datatype: "INT64", shape: [-1] }],
    });
    expect(meta).toEqual({
      name: "iris",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "label", datatype: "INT64", shape: [-1] }],
    });
  });

  it("rejects a malformed tensor entry as BACKEND_ERROR", () => {
    expect(() =>
      metadataFrom("t", "m", { inputs: [{ name: "x", datatype: "FP32", shape: [-2] }] }),
    ).toThrow(expect.objectContaining({ code: "BACKEND_ERROR" }));
    expect(() => metadataFrom("t", "m", { inputs: [{ datatype: "FP32", shape: [] }] })).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });
});

describe("answer parameters", () => {
  it("reads the answer's and each output's InferParameters as plain values", () => {
    const wire = response([
      {
        ...output("y", "INT32", ["1"], { int_contents: [1] }),
        parameters: { step: { parameter_choice: "int64_param", int64_param: "3" } },
      },
      output("z", "INT32", ["1"], { int_contents: [2] }),
    ]);
    wire.parameters = {
      done: { parameter_choice: "bool_param", bool_param: true },
      big: { parameter_choice: "int64_param", int64_param: "9007199254740993" },
    };
    const result = readGrpcInferResponse("t", wire);
    expect(result.parameters).toEqual({ done: true, big: "9007199254740993" });
    expect(result.outputParameters).toEqual({ y: { step: 3 } });
  });
});
