import { describe, expect, it } from "vitest";
import { compareVersions, dimsToShape, specsFromMetadata } from "./metadata.js";

describe("dimsToShape", () => {
  it("keeps fixed dimensions and turns symbolic ones (named or not) into -1", () => {
    expect(dimsToShape(["batch", 4, "", 0])).toEqual([-1, 4, -1, 0]);
    expect(dimsToShape([])).toEqual([]);
  });
});

describe("specsFromMetadata", () => {
  it("maps ORT element types to KServe datatypes in the session's order", () => {
    const result = specsFromMetadata([
      { name: "x", isTensor: true, type: "float32", shape: ["batch", 4] },
      { name: "ids", isTensor: true, type: "int64", shape: ["batch"] },
      { name: "text", isTensor: true, type: "string", shape: [1] },
      { name: "half", isTensor: true, type: "float16", shape: [2, "n"] },
      { name: "flag", isTensor: true, type: "bool", shape: [] },
    ]);
    expect(result.specs).toEqual([
      { name: "x", datatype: "FP32", shape: [-1, 4] },
      { name: "ids", datatype: "INT64", shape: [-1] },
      { name: "text", datatype: "BYTES", shape: [1] },
      { name: "half", datatype: "FP16", shape: [2, -1] },
      { name: "flag", datatype: "BOOL", shape: [] },
    ]);
    expect(result.unsupported).toEqual([]);
  });

  it("sets aside values the canonical tensor cannot carry", () => {
    const result = specsFromMetadata([
      { name: "zipmap", isTensor: false },
      { name: "packed", isTensor: true, type: "int4", shape: [8] },
      { name: "ok", isTensor: true, type: "uint64", shape: [1] },
    ]);
    expect(result.specs).toEqual([{ name: "ok", datatype: "UINT64", shape: [1] }]);
    expect(result.unsupported.map((u) => u.name)).toEqual(["zipmap", "packed"]);
    expect(result.unsupported[1]?.reason).toMatch(/int4/);
  });
});

describe("compareVersions", () => {
  it("orders digit strings numerically, beyond double precision", () => {
    expect(["10", "9", "1", "002"].sort(compareVersions)).toEqual(["1", "002", "9", "10"]);
    expect(compareVersions("18446744073709551617", "18446744073709551616")).toBe(1);
    expect(compareVersions("7", "07")).toBe(0);
  });
});
