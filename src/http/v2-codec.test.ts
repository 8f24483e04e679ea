import { describe, expect, it } from "vitest";
import { DecodeBudget } from "../tensor/index.js";
import { parseJson } from "./request.js";
import { decodeV2Request, encodeV2Response } from "./v2-codec.js";

const utf8 = new TextEncoder();

describe("KServe v2 JSON exactness", () => {
  it("reads INT64 / UINT64 data beyond 2^53 exactly, and big parameters as decimal strings", () => {
    const body = parseJson(
      utf8.encode(
        '{"parameters":{"sequence_id":18446744073709551615,"small":7},"inputs":[' +
          '{"name":"a","datatype":"INT64","shape":[3],"data":[9223372036854775807,-9223372036854775808,9007199254740993]},' +
          '{"name":"b","datatype":"UINT64","shape":[1],"data":[18446744073709551615]}]}',
      ),
    );
    const { request } = decodeV2Request(body, undefined, new DecodeBudget());
    expect(Array.from(request.inputs[0]?.data as BigInt64Array)).toEqual([
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 53n + 1n,
    ]);
    expect(Array.from(request.inputs[1]?.data as BigUint64Array)).toEqual([2n ** 64n - 1n]);
    expect(request.parameters).toEqual({ sequence_id: "18446744073709551615", small: 7 });
    expect(() => JSON.stringify(request.parameters)).not.toThrow();
  });

  it("writes exact digits and non-finite tokens, plain JSON otherwise", async () => {
    const response = {
      model: "m",
      version: "1",
      backend: "b",
      fallback: false,
      cache: "off" as const,
      outputs: [
        {
          name: "i",
          datatype: "UINT64" as const,
          shape: [1],
          data: BigUint64Array.of(2n ** 64n - 1n),
        },
        { name: "f", datatype: "FP32" as const, shape: [2], data: Float32Array.of(Number.NaN, 1) },
      ],
    };
    const encoded = await encodeV2Response(response, "r", () => false);
    expect(new TextDecoder().decode(encoded.body)).toBe(
      '{"model_name":"m","model_version":"1","id":"r","outputs":[' +
        '{"name":"i","datatype":"UINT64","shape":[1],"data":[18446744073709551615]},' +
        '{"name":"f","datatype":"FP32","shape":[2],"data":[NaN,1]}]}',
    );
    const plain = await encodeV2Response(
      {
        ...response,
        outputs: [{ name: "x", datatype: "INT32", shape: [1], data: Int32Array.of(5) }],
      },
      undefined,
      () => false,
    );
    expect(JSON.parse(new TextDecoder().decode(plain.body))).toEqual({
      model_name: "m",
      model_version: "1",
      outputs: [{ name: "x", datatype: "INT32", shape: [1], data: [5] }],
    });
  });
});

describe("answer parameters", () => {
  it("are written on the answer and on each output, next to binary_data_size", async () => {
    const encoded = await encodeV2Response(
      {
        model: "m",
        version: "1",
        backend: "b",
        fallback: false,
        cache: "off",
        outputs: [
          { name: "a", datatype: "INT32", shape: [1], data: Int32Array.of(7) },
          { name: "b", datatype: "INT32", shape: [1], data: Int32Array.of(8) },
        ],
        parameters: { sequence_step: 2 },
        outputParameters: { a: { accumulated: true }, b: { tag: "t" } },
      },
      undefined,
      (name) => name === "b",
    );
    const json = JSON.parse(
      new TextDecoder().decode(encoded.body.subarray(0, encoded.jsonLength)),
    ) as Record<string, unknown>;
    expect(json).toEqual({
      model_name: "m",
      model_version: "1",
      parameters: { sequence_step: 2 },
      outputs: [
        { name: "a", datatype: "INT32", shape: [1], parameters: { accumulated: true }, data: [7] },
        { name: "b", datatype: "INT32", shape: [1], parameters: { tag: "t", binary_data_size: 4 } },
      ],
    });
  });
});
