import { describe, expect, it } from "vitest";
import { configSchema } from "./schema.js";
import { closestKey, editDistance, knownKeysAt } from "./suggest.js";

describe("editDistance", () => {
  it("counts inserts, deletes, substitutions and adjacent swaps as one edit each", () => {
    expect(editDistance("port", "port")).toBe(0);
    expect(editDistance("prot", "port")).toBe(1);
    expect(editDistance("prt", "port")).toBe(1);
    expect(editDistance("ports", "port")).toBe(1);
    expect(editDistance("pory", "port")).toBe(1);
    expect(editDistance("host", "port")).toBe(2);
    expect(editDistance("", "url")).toBe(3);
  });
});

describe("closestKey", () => {
  it("picks the nearest key within two edits", () => {
    expect(closestKey("grpcPrt", ["port", "grpcPort", "host"])).toBe("grpcPort");
    expect(closestKey("timeout", ["timeoutMs", "retry"])).toBe("timeoutMs");
  });

  it("refuses keys too far off, or so short that any key is two edits away", () => {
    expect(closestKey("colour", ["cache", "labels"])).toBeUndefined();
    expect(closestKey("to", ["type"])).toBeUndefined();
    expect(closestKey("x".repeat(100), ["x".repeat(99)])).toBeUndefined();
  });
});

describe("knownKeysAt", () => {
  it("reads the keys of the object at a path through defaults, records and arrays", () => {
    expect(knownKeysAt(configSchema, ["server"], {})).toContain("grpcPort");
    expect(knownKeysAt(configSchema, ["models", "m", "traffic", 0], {})).toEqual([
      "version",
      "weight",
    ]);
    expect(knownKeysAt(configSchema, ["backends", "b"], { type: "onnx" })).toEqual([
      "type",
      "modelDir",
      "intraOpNumThreads",
      "workers",
    ]);
  });

  it("is empty where the schema has no object", () => {
    expect(knownKeysAt(configSchema, ["models", "m", "default"], {})).toEqual([]);
    expect(knownKeysAt(configSchema, ["nowhere", "at", "all"], {})).toEqual([]);
  });
});
