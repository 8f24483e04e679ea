import { describe, expect, it } from "vitest";
import {
  isSequenceRequest,
  restParameters,
  sequenceKey,
  sequenceReplica,
  toWireParameters,
  wireSequenceKey,
} from "./parameters.js";

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

describe("sequence keys and replicas", () => {
  it("keys a sequence by its id, from plain and from gRPC parameters alike", () => {
    expect(sequenceKey({ sequence_id: 42 })).toBe("42");
    expect(sequenceKey({ sequence_id: 0 })).toBeUndefined();
    expect(
      wireSequenceKey({ sequence_id: { parameter_choice: "int64_param", int64_param: "42" } }),
    ).toBe("42");
    expect(
      wireSequenceKey({ sequence_id: { parameter_choice: "string_param", string_param: "" } }),
    ).toBeUndefined();
    expect(wireSequenceKey({})).toBeUndefined();
  });

  it("gives the same id the same replica, and spreads ids over all of them", () => {
    const of = (id: number) => sequenceReplica({ sequence_id: id }, 3);
    expect(of(7)).toBe(of(7));
    const used = new Set(Array.from({ length: 60 }, (_, i) => of(i + 1)));
    expect([...used].sort()).toEqual([0, 1, 2]);
    expect(sequenceReplica({ priority: 1 }, 3)).toBeUndefined();
  });
});
