import { describe, expect, it } from "vitest";
import { isSequenceRequest, restParameters, toWireParameters } from "./parameters.js";

describe("toWireParameters", () => {
  it("gives each plain value its InferParameter field", () => {
    expect(
      toWireParameters({
        sequence_id: 42,
        sequence_start: true,
        ratio: 0.5,
        name: "x",
        big: "9007199254740993",
      }),
    ).toEqual({
      sequence_id: { int64_param: "42" },
      sequence_start: { bool_param: true },
      ratio: { double_param: 0.5 },
      name: { string_param: "x" },
      big: { string_param: "9007199254740993" },
    });
  });

  it("is empty without parameters and skips values no field can hold", () => {
    expect(toWireParameters(undefined)).toEqual({});
    expect(toWireParameters({ nested: { a: 1 }, nothing: null })).toEqual({});
  });
});

describe("restParameters", () => {
  it("keeps the client's parameters but never its binary_data_output", () => {
    expect(restParameters({ sequence_id: 3, binary_data_output: false })).toEqual({
      sequence_id: 3,
    });
    expect(restParameters(undefined)).toEqual({});
  });
});

describe("isSequenceRequest", () => {
  it("is true for a non-zero numeric or non-empty string sequence_id only", () => {
    expect(isSequenceRequest({ sequence_id: 5 })).toBe(true);
    expect(isSequenceRequest({ sequence_id: "corr-1" })).toBe(true);
    expect(isSequenceRequest({ sequence_id: 0 })).toBe(false);
    expect(isSequenceRequest({ sequence_id: "" })).toBe(false);
    expect(isSequenceRequest({ priority: 1 })).toBe(false);
    expect(isSequenceRequest(undefined)).toBe(false);
  });
});
