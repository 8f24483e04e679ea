import { describe, expect, it } from "vitest";
import { InternalError, InvalidRequestError } from "../errors.js";
import type { InferResponse } from "../gateway/types.js";
import type { WireInferInputTensor, WireModelInferRequest } from "../protocols/kserve/proto.js";
import type { NamedTensor } from "../tensor/index.js";
import { decodeInferRequest, encodeInferResponse } from "./codec.js";

function request(partial: Partial<WireModelInferRequest>): WireModelInferRequest {
  return {
    model_name: "m",
    model_version: "",
    id: "",
    parameters: {},
    inputs: [],
    outputs: [],
    raw_input_contents: [],
    ...partial,
  };
}

function fp32(name: string, values: number[]): WireInferInputTensor {
  return {
    name,
    datatype: "FP32",
    shape: [String(values.length)],
    parameters: {},
    contents: { fp32_contents: values },
  };
}

function response(outputs: NamedTensor[]): InferResponse {
  return { model: "m", version: "3", outputs, backend: "b", fallback: false, cache: "off" };
}

describe("decodeInferRequest", () => {
  it("decodes typed inputs into canonical tensors and leaves optional fields out when empty", () => {
    const { request: req, raw } = decodeInferRequest(request({ inputs: [fp32("x", [1.5, 2])] }));
    expect(raw).toBe(false);
    expect(req).toEqual({
      inputs: [{ name: "x", datatype: "FP32", shape: [2], data: Float32Array.of(1.5, 2) }],
    });
  });

  it("keeps the id, de-duplicates requested outputs and decodes parameters", () => {
    const { request: req } = decodeInferRequest(
      request({
        id: "r1",
        inputs: [fp32("x", [1])],
        outputs: [
          { name: "y", parameters: {} },
          { name: "y", parameters: {} },
          { name: "z", parameters: {} },
        ],
        parameters: {
          u: { parameter_choice: "uint64_param", uint64_param: "18446744073709551615" },
          b: { parameter_choice: "bool_param", bool_param: false },
        },
      }),
    );
    expect(req.id).toBe("r1");
    expect(req.outputs).toEqual(["y", "z"]);
    expect(req.parameters).toEqual({ u: "18446744073709551615", b: false });
  });

  it("decodes INT64 and UINT64 decimal strings without losing precision", () => {
    const { request: req } = decodeInferRequest(
      request({
        inputs: [
          {
            name: "i",
            datatype: "INT64",
            shape: ["2"],
            parameters: {},
            contents: { int64_contents: ["-9223372036854775808", "9007199254740993"] },
          },
          {
            name: "u",
            datatype: "UINT64",
            shape: ["1"],
            parameters: {},
            contents: { uint64_contents: ["18446744073709551615"] },
          },
        ],
      }),
    );
    expect(req.inputs[0]?.data).toEqual(BigInt64Array.of(-(2n ** 63n), 2n ** 53n + 1n));
    expect(req.inputs[1]?.data).toEqual(BigUint64Array.of(2n ** 64n - 1n));
  });

  it("decodes raw inputs and reports that the request used raw", () => {
    const bytes = Buffer.alloc(8);
    bytes.writeInt32LE(-2, 0);
    bytes.writeInt32LE(7, 4);
    const { request: req, raw } = decodeInferRequest(
      request({
        inputs: [
          { name: "x", datatype: "INT32", shape: ["1", "2"], parameters: {}, contents: null },
        ],
        raw_input_contents: [bytes],
      }),
    );
    expect(raw).toBe(true);
    expect(req.inputs[0]).toEqual({
      name: "x",
      datatype: "INT32",
      shape: [1, 2],
      data: Int32Array.of(-2, 7),
    });
  });

  it("accepts an empty shape-[0] input with no contents", () => {
    const { request: req } = decodeInferRequest(
      request({
        inputs: [{ name: "x", datatype: "FP32", shape: ["0"], parameters: {}, contents: null }],
      }),
    );
    expect(req.inputs[0]?.data).toEqual(new Float32Array(0));
  });

  it.each([
    ["an input without a name", request({ inputs: [fp32("", [1])] })],
    [
      "a requested output without a name",
      request({ inputs: [fp32("x", [1])], outputs: [{ name: "", parameters: {} }] }),
    ],
    ["a parameter without a value", request({ parameters: { p: {} } })],
    [
      "a shape dimension beyond 2^53",
      request({
        inputs: [
          {
            name: "x",
            datatype: "FP32",
            shape: ["9007199254740993"],
            parameters: {},
            contents: null,
          },
        ],
      }),
    ],
  ])("rejects %s as an InvalidRequestError", (_what, wire) => {
    expect(() => decodeInferRequest(wire)).toThrow(InvalidRequestError);
  });
});

describe("encodeInferResponse", () => {
  const outputs: NamedTensor[] = [
    { name: "i", datatype: "INT64", shape: [2], data: BigInt64Array.of(-1n, 2n ** 62n) },
    { name: "b", datatype: "BOOL", shape: [2], data: Uint8Array.of(1, 0) },
    { name: "s", datatype: "BYTES", shape: [1], data: [Uint8Array.of(0xff)] },
  ];

  it("answers typed contents when the request was typed", () => {
    const wire = encodeInferResponse(response(outputs), false, "req-9");
    expect(wire.model_name).toBe("m");
    expect(wire.model_version).toBe("3");
    expect(wire.id).toBe("req-9");
    expect(wire.raw_output_contents).toEqual([]);
    expect(wire.outputs.map((o) => [o.name, o.shape, o.contents])).toEqual([
      ["i", ["2"], { int64_contents: ["-1", "4611686018427387904"] }],
      ["b", ["2"], { bool_contents: [true, false] }],
      ["s", ["1"], { bytes_contents: [Uint8Array.of(0xff)] }],
    ]);
  });

  it("answers raw contents in output order when the request was raw", () => {
    const wire = encodeInferResponse(response(outputs), true, undefined);
    expect(wire.id).toBe("");
    expect(wire.outputs.every((o) => o.contents === null)).toBe(true);
    expect(wire.raw_output_contents.map((b) => Buffer.from(b).toString("hex"))).toEqual([
      "ffffffffffffffff0000000000000040",
      "0100",
      "01000000ff",
    ]);
  });

  it("treats output data that does not match its datatype as an internal error", () => {
    const bad: NamedTensor = { name: "x", datatype: "INT64", shape: [1], data: Float32Array.of(1) };
    expect(() => encodeInferResponse(response([bad]), false, undefined)).toThrow(InternalError);
  });
});

describe("decodeInferRequest limits", () => {
  const limits = {
    maxJsonDepth: 64,
    maxElements: 1000,
    maxTensorBytes: 64 * 1024,
    maxBytesElements: 4,
    maxOutputBytes: 64,
  };
  const raw = (name: string, datatype: string, shape: string[], bytes: Uint8Array) => ({
    input: { name, datatype, shape, parameters: {}, contents: null },
    bytes,
  });

  it("refuses a declared raw shape over maxElements before reading its bytes", () => {
    const x = raw("x", "FP32", ["1000000", "4"], new Uint8Array(0));
    const wire = request({ inputs: [x.input], raw_input_contents: [x.bytes] });
    expect(() => decodeInferRequest(wire, limits)).toThrow(/maxElements/);
    try {
      decodeInferRequest(wire, limits);
    } catch (err) {
      expect((err as { code: string }).code).toBe("PAYLOAD_TOO_LARGE");
    }
  });

  it("charges all inputs of a request together", () => {
    const a = raw("a", "UINT8", ["600"], new Uint8Array(600));
    const b = raw("b", "UINT8", ["600"], new Uint8Array(600));
    const wire = request({ inputs: [a.input, b.input], raw_input_contents: [a.bytes, b.bytes] });
    expect(() => decodeInferRequest(wire, limits)).toThrow(/1200 elements/);
    expect(() => decodeInferRequest(wire)).not.toThrow();
  });

  it("counts typed bytes_contents elements against maxBytesElements", () => {
    const strings = Array.from({ length: 5 }, () => Buffer.from("a"));
    const wire = request({
      inputs: [
        {
          name: "s",
          datatype: "BYTES",
          shape: ["5"],
          parameters: {},
          contents: { bytes_contents: strings },
        },
      ],
    });
    expect(() => decodeInferRequest(wire, limits)).toThrow(/maxBytesElements/);
    expect(decodeInferRequest(wire).request.inputs[0]?.shape).toEqual([5]);
  });

  it("keeps NUL and non-UTF-8 bytes_contents exactly", () => {
    const elements = [Buffer.from("he\0llo"), Buffer.from([0xff, 0xfe, 0x00])];
    const wire = request({
      inputs: [
        {
          name: "s",
          datatype: "BYTES",
          shape: ["2"],
          parameters: {},
          contents: { bytes_contents: elements },
        },
      ],
    });
    const data = decodeInferRequest(wire).request.inputs[0]?.data as Uint8Array[];
    expect(data.map((b) => Array.from(b))).toEqual(elements.map((b) => Array.from(b)));
  });

  it("refuses an answer over maxOutputBytes before encoding it", () => {
    const y: NamedTensor = { name: "y", datatype: "FP64", shape: [9], data: new Float64Array(9) };
    expect(() => encodeInferResponse(response([y]), true, undefined, limits)).toThrow(
      /maxOutputBytes/,
    );
  });
});

describe("answer parameters", () => {
  it("are sent on the response and on each output as InferParameters", () => {
    const wire = encodeInferResponse(
      {
        ...response([{ name: "i", datatype: "INT32", shape: [1], data: Int32Array.of(1) }]),
        parameters: { sequence_step: 2, done: true },
        outputParameters: { i: { scale: 0.5 } },
      },
      true,
      undefined,
    );
    expect(wire.parameters).toEqual({
      sequence_step: { int64_param: "2" },
      done: { bool_param: true },
    });
    expect(wire.outputs[0]?.parameters).toEqual({ scale: { double_param: 0.5 } });
  });
});
