import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { KSERVE_PROTO_PATH, kserveService } from "./proto.js";

/** Field name -> [number, type, repeated] as Triton's copy of the KServe v2 proto declares them. */
const EXPECTED: Record<string, Record<string, [number, string, boolean]>> = {
  ServerLiveResponse: { live: [1, "bool", false] },
  ServerReadyResponse: { ready: [1, "bool", false] },
  ModelReadyRequest: { name: [1, "string", false], version: [2, "string", false] },
  ModelReadyResponse: { ready: [1, "bool", false] },
  ServerMetadataResponse: {
    name: [1, "string", false],
    version: [2, "string", false],
    extensions: [3, "string", true],
  },
  ModelMetadataRequest: { name: [1, "string", false], version: [2, "string", false] },
  ModelMetadataResponse: {
    name: [1, "string", false],
    versions: [2, "string", true],
    platform: [3, "string", false],
    inputs: [4, "TensorMetadata", true],
    outputs: [5, "TensorMetadata", true],
  },
  "ModelMetadataResponse.TensorMetadata": {
    name: [1, "string", false],
    datatype: [2, "string", false],
    shape: [3, "int64", true],
  },
  InferParameter: {
    bool_param: [1, "bool", false],
    int64_param: [2, "int64", false],
    string_param: [3, "string", false],
    double_param: [4, "double", false],
    uint64_param: [5, "uint64", false],
  },
  InferTensorContents: {
    bool_contents: [1, "bool", true],
    int_contents: [2, "int32", true],
    int64_contents: [3, "int64", true],
    uint_contents: [4, "uint32", true],
    uint64_contents: [5, "uint64", true],
    fp32_contents: [6, "float", true],
    fp64_contents: [7, "double", true],
    bytes_contents: [8, "bytes", true],
  },
  ModelInferRequest: {
    model_name: [1, "string", false],
    model_version: [2, "string", false],
    id: [3, "string", false],
    parameters: [4, "InferParameter", false],
    inputs: [5, "InferInputTensor", true],
    outputs: [6, "InferRequestedOutputTensor", true],
    raw_input_contents: [7, "bytes", true],
  },
  "ModelInferRequest.InferInputTensor": {
    name: [1, "string", false],
    datatype: [2, "string", false],
    shape: [3, "int64", true],
    parameters: [4, "InferParameter", false],
    contents: [5, "InferTensorContents", false],
  },
  "ModelInferRequest.InferRequestedOutputTensor": {
    name: [1, "string", false],
    parameters: [2, "InferParameter", false],
  },
  ModelInferResponse: {
    model_name: [1, "string", false],
    model_version: [2, "string", false],
    id: [3, "string", false],
    parameters: [4, "InferParameter", false],
    outputs: [5, "InferOutputTensor", true],
    raw_output_contents: [6, "bytes", true],
  },
  "ModelInferResponse.InferOutputTensor": {
    name: [1, "string", false],
    datatype: [2, "string", false],
    shape: [3, "int64", true],
    parameters: [4, "InferParameter", false],
    contents: [5, "InferTensorContents", false],
  },
};

describe("protos/kserve/grpc_service.proto", () => {
  const root = new protobuf.Root().loadSync(KSERVE_PROTO_PATH, { keepCase: true });

  it.each(Object.entries(EXPECTED))("%s has the protocol's fields and numbers", (name, fields) => {
    const type = root.lookupType(`inference.${name}`);
    const actual = Object.fromEntries(
      type.fieldsArray.map((f) => [f.name, [f.id, f.type, f.repeated]]),
    );
    expect(actual).toEqual(fields);
  });

  it("declares the parameters fields as map<string, InferParameter>", () => {
    const type = root.lookupType("inference.ModelInferRequest");
    const field = type.fields.parameters;
    expect(field).toBeInstanceOf(protobuf.MapField);
    expect(field instanceof protobuf.MapField ? field.keyType : undefined).toBe("string");
  });

  it("puts the five InferParameter choices in one oneof", () => {
    const oneof = root.lookupType("inference.InferParameter").oneofs.parameter_choice;
    expect(oneof?.oneof).toEqual([
      "bool_param",
      "int64_param",
      "string_param",
      "double_param",
      "uint64_param",
    ]);
  });

  it("declares the six core RPCs as unary calls under inference.GRPCInferenceService", () => {
    const { definition } = kserveService();
    const rpcs = Object.entries(definition).map(([name, m]) => [
      name,
      m.path,
      m.requestStream || m.responseStream,
    ]);
    expect(rpcs).toEqual(
      [
        "ServerLive",
        "ServerReady",
        "ModelReady",
        "ServerMetadata",
        "ModelMetadata",
        "ModelInfer",
      ].map((n) => [n, `/inference.GRPCInferenceService/${n}`, false]),
    );
  });

  it("keeps 64-bit contents exact and reports an absent contents message as null", () => {
    const { methods } = kserveService();
    const bytes = methods.ModelInfer.requestSerialize({
      model_name: "m",
      model_version: "",
      id: "",
      parameters: {},
      inputs: [
        {
          name: "a",
          datatype: "INT64",
          shape: ["1"],
          parameters: {},
          contents: { int64_contents: ["-9223372036854775808"] },
        },
        { name: "b", datatype: "FP32", shape: ["1"], parameters: {}, contents: null },
      ],
      outputs: [],
      raw_input_contents: [],
    });
    const decoded = methods.ModelInfer.requestDeserialize(bytes);
    expect(decoded.inputs[0]?.contents?.int64_contents).toEqual(["-9223372036854775808"]);
    expect(decoded.inputs[1]?.contents).toBeNull();
    expect(decoded.raw_input_contents).toEqual([]);
  });
});
