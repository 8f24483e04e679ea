import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "../errors.js";
import type { NamedTensor } from "../tensor/index.js";
import {
  classCount,
  classify,
  grpcClassRequests,
  restClassRequests,
  unifiedOutputRequests,
} from "./classification.js";

const text = (t: NamedTensor) => (t.data as Uint8Array[]).map((b) => Buffer.from(b).toString());

describe("classify", () => {
  it("answers the K largest per row as value:index:label, floats with six decimals", () => {
    const probs: NamedTensor = {
      name: "p",
      datatype: "FP32",
      shape: [2, 3],
      data: Float32Array.from([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]),
    };
    const out = classify(probs, 2, ["a", "b", "c"]);
    expect(out.datatype).toBe("BYTES");
    expect(out.shape).toEqual([2, 2]);
    expect(text(out)).toEqual(["0.700000:1:b", "0.200000:2:c", "0.500000:0:a", "0.250000:1:b"]);
  });

  it("takes a rank-1 output as one row, caps K, leaves out missing labels", () => {
    const t: NamedTensor = {
      name: "x",
      datatype: "INT32",
      shape: [3],
      data: Int32Array.from([5, -1, 9]),
    };
    const out = classify(t, 10, ["only"]);
    expect(out.shape).toEqual([3]);
    expect(text(out)).toEqual(["9:2", "5:0:only", "-1:1"]);
  });

  it("keeps 64-bit values exact", () => {
    const t: NamedTensor = {
      name: "x",
      datatype: "INT64",
      shape: [2],
      data: BigInt64Array.from([9007199254740993n, 9007199254740992n]),
    };
    expect(text(classify(t, 1))).toEqual(["9007199254740993:0"]);
  });

  it("refuses datatypes Triton cannot classify", () => {
    const t: NamedTensor = { name: "s", datatype: "BYTES", shape: [1], data: [new Uint8Array(1)] };
    expect(() => classify(t, 1)).toThrow(/unsupported type 'BYTES'/);
  });
});

describe("classification requests", () => {
  it("reads K from v2 JSON, gRPC parameters and /v1 output objects", () => {
    expect(
      restClassRequests({
        outputs: [{ name: "a", parameters: { classification: 3 } }, { name: "b" }],
      }),
    ).toEqual(new Map([["a", 3]]));
    expect(
      grpcClassRequests([
        {
          name: "a",
          parameters: { classification: { parameter_choice: "int64_param", int64_param: "2" } },
        },
        { name: "b", parameters: {} },
      ]),
    ).toEqual(new Map([["a", 2]]));
    expect(unifiedOutputRequests(["a", { name: "b", classification: 1 }])).toEqual({
      names: ["a", "b"],
      classes: new Map([["b", 1]]),
    });
  });

  it("rejects a K that is not a small non-negative integer, and unknown output keys", () => {
    expect(() => classCount("a", -1)).toThrow(InvalidRequestError);
    expect(() => classCount("a", 1.5)).toThrow(InvalidRequestError);
    expect(() => classCount("a", 1e9)).toThrow(InvalidRequestError);
    expect(classCount("a", 0)).toBeUndefined();
    expect(() => unifiedOutputRequests([{ name: "a", top: 1 }])).toThrow(InvalidRequestError);
    expect(() => unifiedOutputRequests([3])).toThrow(InvalidRequestError);
  });
});
