import { describe, expect, it } from "vitest";
import type { NamedTensor, TensorSpec } from "../../tensor/index.js";
import { decodeOutputs, encodeInputs } from "./codec.js";

const fp32 = (name: string, shape: number[], values: number[]): NamedTensor => ({
  name,
  datatype: "FP32",
  shape,
  data: Float32Array.from(values),
});

const IRIS_OUT: TensorSpec[] = [
  { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
  { name: "label", datatype: "INT64", shape: [-1] },
];

describe("encodeInputs", () => {
  it("sends a single input as a bare nested array", () => {
    const body = encodeInputs(
      [fp32("input", [1, 2], [1.5, 2])],
      [{ name: "input", datatype: "FP32", shape: [-1, 2] }],
    );
    expect(body).toBe("[[1.5,2]]");
  });

  it("sends several inputs as an object in the declared order", () => {
    const body = encodeInputs(
      [fp32("b", [1], [2]), fp32("a", [1], [1])],
      [
        { name: "a", datatype: "FP32", shape: [-1] },
        { name: "b", datatype: "FP32", shape: [-1] },
      ],
    );
    expect(body).toBe('{"a":[1],"b":[2]}');
  });

  it("without declarations, uses the inputs as given", () => {
    expect(encodeInputs([fp32("x", [2], [1, 2])], undefined)).toBe("[1,2]");
    expect(encodeInputs([fp32("x", [1], [1]), fp32("y", [1], [2])], undefined)).toBe(
      '{"x":[1],"y":[2]}',
    );
  });

  it("writes INT64 inputs exactly", () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "INT64",
      shape: [1, 1],
      data: BigInt64Array.from([2n ** 63n - 1n]),
    };
    expect(encodeInputs([x], undefined)).toBe("[[9223372036854775807]]");
  });

  it("rejects missing and undeclared inputs as INVALID_REQUEST", () => {
    const declared: TensorSpec[] = [
      { name: "a", datatype: "FP32", shape: [-1] },
      { name: "b", datatype: "FP32", shape: [-1] },
    ];
    expect(() => encodeInputs([fp32("a", [1], [1])], declared)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message: 'missing input "b"' }),
    );
    expect(() => encodeInputs([fp32("a", [1], [1]), fp32("c", [1], [1])], declared)).toThrow(
      expect.objectContaining({ code: "INVALID_REQUEST", message: 'unknown input "c"' }),
    );
  });
});

describe("decodeOutputs", () => {
  it("converts an object answer to the declared datatypes, in the declared order", () => {
    const out = decodeOutputs(
      "ts",
      '{"label":[2,9223372036854775807],"probabilities":[[0.25,0.25,0.5],[1,0,0]]}',
      IRIS_OUT,
      undefined,
    );
    expect(out.map((t) => [t.name, t.datatype, t.shape])).toEqual([
      ["probabilities", "FP32", [2, 3]],
      ["label", "INT64", [2]],
    ]);
    expect(Array.from(out[1]?.data as BigInt64Array)).toEqual([2n, 2n ** 63n - 1n]);
    expect(Array.from(out[0]?.data as Float32Array)).toEqual([0.25, 0.25, 0.5, 1, 0, 0]);
  });

  it("names a bare array after the single declared output, else 'output'", () => {
    const declared: TensorSpec[] = [{ name: "y", datatype: "UINT64", shape: [-1, -1] }];
    const [y] = decodeOutputs("ts", "[[18446744073709551615, 1]]", declared, undefined);
    expect(y?.name).toBe("y");
    expect(Array.from(y?.data as BigUint64Array)).toEqual([2n ** 64n - 1n, 1n]);
    const [o] = decodeOutputs("ts", "[[1, 2]]", undefined, undefined);
    expect(o).toMatchObject({ name: "output", datatype: "FP32", shape: [1, 2] });
  });

  it("reads big integers as numbers for non-64-bit outputs", () => {
    const declared: TensorSpec[] = [{ name: "y", datatype: "FP64", shape: [-1] }];
    const [y] = decodeOutputs("ts", "[12345678901234567890, 0.5]", declared, undefined);
    expect(Array.from(y?.data as Float64Array)).toEqual([Number(12345678901234567890n), 0.5]);
  });

  it("returns only the requested outputs, in the requested order", () => {
    const out = decodeOutputs("ts", '{"probabilities":[[1,0,0]],"label":[0]}', IRIS_OUT, ["label"]);
    expect(out.map((t) => t.name)).toEqual(["label"]);
  });

  it("a requested output the target does not declare is INVALID_REQUEST", () => {
    expect(() =>
      decodeOutputs("ts", '{"probabilities":[[1,0,0]],"label":[0]}', IRIS_OUT, ["nope"]),
    ).toThrow(expect.objectContaining({ code: "INVALID_REQUEST" }));
  });

  it.each([
    [
      "a shape that is not the declared one",
      '{"probabilities":[[1,0]],"label":[0]}',
      /shape \[1,2\]/,
    ],
    [
      "a value that is not the declared datatype",
      '{"probabilities":[[1,0,0]],"label":[0.5]}',
      /invalid "label"/,
    ],
    ["a missing declared output", '{"probabilities":[[1,0,0]]}', /without output "label"/],
    ["a bare array for two declared outputs", "[[1,0,0]]", /declares 2 outputs/],
    ["invalid JSON", '{"label":', /invalid JSON/],
    ["null", "null", /answered null/],
    ["a ragged array", '{"probabilities":[[1,0,0],[1]],"label":[0,1]}', /invalid "probabilities"/],
  ])("%s is BACKEND_ERROR", (_what, text, message) => {
    let caught: unknown;
    try {
      decodeOutputs("ts", text, IRIS_OUT, undefined);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: "BACKEND_ERROR" });
    expect((caught as Error).message).toMatch(message);
  });
});
