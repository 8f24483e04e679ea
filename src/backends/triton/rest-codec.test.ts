import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../../tensor/index.js";
import type { BackendCall } from "../types.js";
import {
  buildRestInferRequest,
  errorMessageOf,
  modelPath,
  readRestInferResponse,
} from "./rest-codec.js";

const utf8 = new TextEncoder();

function call(inputs: NamedTensor[], extra: Partial<BackendCall> = {}): BackendCall {
  return { inputs, deadline: Date.now() + 1000, signal: new AbortController().signal, ...extra };
}

function splitRequest(body: Uint8Array, jsonLength: number) {
  const json = JSON.parse(new TextDecoder().decode(body.subarray(0, jsonLength))) as {
    id?: string;
    inputs: {
      name: string;
      shape: number[];
      datatype: string;
      parameters: Record<string, unknown>;
    }[];
    outputs?: { name: string; parameters: Record<string, unknown> }[];
    parameters: Record<string, unknown>;
  };
  return { json, binary: body.subarray(jsonLength) };
}

describe("modelPath", () => {
  it("URL-encodes the model and version", () => {
    expect(modelPath({ backend: "t", model: "iris" })).toBe("/v2/models/iris");
    expect(modelPath({ backend: "t", model: "a/b c", version: "1?x" })).toBe(
      "/v2/models/a%2Fb%20c/versions/1%3Fx",
    );
  });
});

describe("buildRestInferRequest", () => {
  it("passes the client's request, input and output parameters beside the gateway's own", () => {
    const x: NamedTensor = { name: "x", datatype: "INT32", shape: [1], data: Int32Array.of(1) };
    const { body, jsonLength } = buildRestInferRequest(
      call([x], {
        outputs: ["y"],
        parameters: { sequence_id: 7, binary_data_output: false },
        tensorParameters: { inputs: { x: { scale: 2 } }, outputs: { y: { tag: "t" } } },
      }),
    );
    const { json } = splitRequest(body, jsonLength);
    expect(json.parameters).toEqual({ sequence_id: 7, binary_data_output: true });
    expect(json.inputs[0]?.parameters).toEqual({ scale: 2, binary_data_size: 4 });
    expect(json.outputs?.[0]?.parameters).toEqual({ tag: "t", binary_data: true });
  });

  it("sends every input as a binary blob after the JSON header, in input order", () => {
    const a: NamedTensor = {
      name: "a",
      datatype: "FP16",
      shape: [2],
      data: Uint16Array.from([0x3c00, 0xc000]),
    };
    const b: NamedTensor = {
      name: "b",
      datatype: "BYTES",
      shape: [2],
      data: [utf8.encode("hi"), utf8.encode("")],
    };
    const { body, jsonLength } = buildRestInferRequest(call([a, b], { id: "r1" }));
    const { json, binary } = splitRequest(body, jsonLength);
    expect(json.id).toBe("r1");
    expect(json.inputs).toEqual([
      { name: "a", shape: [2], datatype: "FP16", parameters: { binary_data_size: 4 } },
      { name: "b", shape: [2], datatype: "BYTES", parameters: { binary_data_size: 10 } },
    ]);
    expect(json.parameters).toEqual({ binary_data_output: true });
    expect(json.outputs).toBeUndefined();
    expect(Array.from(binary)).toEqual([
      0x00, 0x3c, 0x00, 0xc0, 2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0,
    ]);
  });

  it("asks requested outputs as binary", () => {
    const x: NamedTensor = { name: "x", datatype: "INT32", shape: [1], data: Int32Array.of(-1) };
    const { body, jsonLength } = buildRestInferRequest(call([x], { outputs: ["y", "z"] }));
    const { json, binary } = splitRequest(body, jsonLength);
    expect(json.id).toBeUndefined();
    expect(json.outputs).toEqual([
      { name: "y", parameters: { binary_data: true } },
      { name: "z", parameters: { binary_data: true } },
    ]);
    expect(Array.from(binary)).toEqual([255, 255, 255, 255]);
  });
});

function answer(json: unknown, blobs: number[][] = []) {
  const head = utf8.encode(JSON.stringify(json));
  const body = new Uint8Array([...head, ...blobs.flat()]);
  return { body, header: blobs.length > 0 ? String(head.length) : undefined };
}

describe("readRestInferResponse", () => {
  it("reads binary and JSON outputs from one answer, keeping 64-bit values exact in binary", () => {
    const big = 2n ** 63n - 1n;
    const raw = new Uint8Array(BigInt64Array.of(big, -2n).buffer);
    const { body, header } = answer(
      {
        model_name: "m",
        model_version: "3",
        outputs: [
          { name: "i", datatype: "INT64", shape: [2], parameters: { binary_data_size: 16 } },
          { name: "s", datatype: "BYTES", shape: [1], data: ["ok"] },
          { name: "f", datatype: "FP32", shape: [1, 2], data: [[0.5, -1]] },
        ],
      },
      [Array.from(raw)],
    );
    const result = readRestInferResponse("t", body, header);
    expect(result.modelVersion).toBe("3");
    expect(result.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ["i", "INT64", [2]],
      ["s", "BYTES", [1]],
      ["f", "FP32", [1, 2]],
    ]);
    expect(Array.from(result.outputs[0]?.data as BigInt64Array)).toEqual([big, -2n]);
    expect(result.outputs[1]?.data).toEqual([utf8.encode("ok")]);
    expect(Array.from(result.outputs[2]?.data as Float32Array)).toEqual([0.5, -1]);
  });

  it("reads a plain JSON answer without the header", () => {
    const { body, header } = answer({
      outputs: [{ name: "b", datatype: "BOOL", shape: [2], data: [true, false] }],
    });
    const result = readRestInferResponse("t", body, header);
    expect(result.modelVersion).toBeUndefined();
    expect(Array.from(result.outputs[0]?.data as Uint8Array)).toEqual([1, 0]);
  });

  it.each([
    ["no outputs list", { model_name: "m" }, []],
    [
      "a blob shorter than the shape needs",
      {
        outputs: [{ name: "y", datatype: "FP32", shape: [2], parameters: { binary_data_size: 4 } }],
      },
      [[0, 0, 0, 0]],
    ],
    [
      "binary_data_size past the end",
      {
        outputs: [
          { name: "y", datatype: "UINT8", shape: [8], parameters: { binary_data_size: 8 } },
        ],
      },
      [[1, 2]],
    ],
    [
      "bytes no output claims",
      {
        outputs: [
          { name: "y", datatype: "UINT8", shape: [1], parameters: { binary_data_size: 1 } },
        ],
      },
      [[1, 2]],
    ],
    [
      "an unknown datatype",
      { outputs: [{ name: "y", datatype: "FP8", shape: [1], data: [1] }] },
      [],
    ],
    [
      "a negative dimension",
      { outputs: [{ name: "y", datatype: "FP32", shape: [-1], data: [] }] },
      [],
    ],
  ])("a malformed answer (%s) is BACKEND_ERROR", (_label, json, blobs) => {
    const { body, header } = answer(json, blobs);
    expect(() => readRestInferResponse("t", body, header)).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });

  it("names a binary_data_size that runs past the end of the body", () => {
    const { body, header } = answer(
      {
        outputs: [
          { name: "y", datatype: "UINT8", shape: [8], parameters: { binary_data_size: 8 } },
        ],
      },
      [[1, 2]],
    );
    expect(() => readRestInferResponse("t", body, header)).toThrow(/runs past the end of the body/);
  });

  it("invalid JSON is BACKEND_ERROR", () => {
    expect(() => readRestInferResponse("t", utf8.encode("{nope"), undefined)).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });
});

describe("errorMessageOf", () => {
  it("takes Triton's error field, else the body text", () => {
    expect(errorMessageOf(utf8.encode('{"error":"unexpected shape"}'))).toBe("unexpected shape");
    expect(errorMessageOf(utf8.encode("<html>Bad Gateway</html>\n"))).toBe(
      "<html>Bad Gateway</html>",
    );
  });
});

describe("answer parameters", () => {
  it("reads the answer's and each output's parameters, without the binary-data keys", () => {
    const { body, header } = answer(
      {
        parameters: { sequence_step: 2, note: "n" },
        outputs: [
          {
            name: "y",
            datatype: "INT32",
            shape: [1],
            parameters: { binary_data_size: 4, accumulated: true },
          },
          { name: "z", datatype: "INT32", shape: [1], data: [1] },
        ],
      },
      [[1, 0, 0, 0]],
    );
    const result = readRestInferResponse("t", body, header);
    expect(result.parameters).toEqual({ sequence_step: 2, note: "n" });
    expect(result.outputParameters).toEqual({ y: { accumulated: true } });
  });

  it("leaves both out when the answer has none of its own", () => {
    const { body, header } = answer(
      {
        outputs: [
          { name: "y", datatype: "INT32", shape: [1], parameters: { binary_data_size: 4 } },
        ],
      },
      [[1, 0, 0, 0]],
    );
    const result = readRestInferResponse("t", body, header);
    expect(Object.keys(result)).toEqual(["outputs"]);
  });
});
