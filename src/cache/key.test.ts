import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../tensor/index.js";
import { cacheKey } from "./key.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

function fp32(name: string, shape: number[], values: number[]): NamedTensor {
  return { name, datatype: "FP32", shape, data: Float32Array.from(values) };
}

const xValues = Float32Array.of(1, 2, 3, 4);
const x: NamedTensor = { name: "x", datatype: "FP32", shape: [2, 2], data: xValues };
const y: NamedTensor = { name: "y", datatype: "INT64", shape: [1], data: BigInt64Array.of(7n) };
const base = () => cacheKey("m/1/b:model", ["out"], [x, y]);

describe("cacheKey", () => {
  it("is a SHA-256 hex digest, the same for the same request", () => {
    expect(base()).toMatch(/^[0-9a-f]{64}$/);
    // A fresh but equal request (new arrays) hashes the same.
    const again = cacheKey("m/1/b:model", ["out"], [fp32("x", [2, 2], [1, 2, 3, 4]), y]);
    expect(again).toBe(base());
  });

  it("ignores the order of inputs and of requested outputs", () => {
    expect(cacheKey("m/1/b:model", ["out"], [y, x])).toBe(base());
    expect(cacheKey("ns", ["a", "b"], [x])).toBe(cacheKey("ns", ["b", "a"], [x]));
  });

  it("changes with the namespace", () => {
    expect(cacheKey("m/2/b:model", ["out"], [x, y])).not.toBe(base());
  });

  it("changes with the requested outputs, and 'all outputs' differs from any list", () => {
    expect(cacheKey("m/1/b:model", ["other"], [x, y])).not.toBe(base());
    expect(cacheKey("m/1/b:model", undefined, [x, y])).not.toBe(base());
    expect(cacheKey("m/1/b:model", [], [x, y])).not.toBe(
      cacheKey("m/1/b:model", undefined, [x, y]),
    );
    expect(cacheKey("m/1/b:model", ["out", "out2"], [x, y])).not.toBe(base());
  });

  it("changes with an input's name, datatype, shape or any single byte", () => {
    const keys = new Set([
      base(),
      cacheKey("m/1/b:model", ["out"], [{ ...x, name: "x2" }, y]),
      // Same bytes, another datatype: INT32 has the FP32 bytes reinterpreted.
      cacheKey(
        "m/1/b:model",
        ["out"],
        [{ ...x, datatype: "INT32", data: new Int32Array(xValues.buffer) }, y],
      ),
      cacheKey("m/1/b:model", ["out"], [{ ...x, shape: [4, 1] }, y]),
      cacheKey("m/1/b:model", ["out"], [{ ...x, shape: [1, 4] }, y]),
      cacheKey("m/1/b:model", ["out"], [fp32("x", [2, 2], [1, 2, 3, 4.000001]), y]),
      cacheKey("m/1/b:model", ["out"], [x, { ...y, data: BigInt64Array.of(8n) }]),
      cacheKey("m/1/b:model", ["out"], [x]),
    ]);
    expect(keys.size).toBe(8);
  });

  it("changes when one bit of a large input flips", () => {
    const data = new Uint8Array(4096).fill(9);
    const key = (d: Uint8Array) =>
      cacheKey("ns", undefined, [{ name: "b", datatype: "UINT8", shape: [4096], data: d }]);
    const flipped = data.slice();
    flipped[4095] = 8;
    expect(key(flipped)).not.toBe(key(data));
  });

  it("frames every field so no two requests collide by concatenation", () => {
    const bytes = (name: string, elements: string[]): NamedTensor => ({
      name,
      datatype: "BYTES",
      shape: [elements.length],
      data: elements.map(utf8),
    });
    // Element boundaries inside a BYTES tensor.
    expect(cacheKey("ns", undefined, [bytes("t", ["ab", "c"])])).not.toBe(
      cacheKey("ns", undefined, [bytes("t", ["a", "bc"])]),
    );
    // Boundaries between inputs: names and contents shifted between two tensors.
    const u8 = (name: string, values: number[]): NamedTensor => ({
      name,
      datatype: "UINT8",
      shape: [values.length],
      data: Uint8Array.from(values),
    });
    expect(cacheKey("ns", undefined, [u8("a", [1, 2]), u8("b", [3])])).not.toBe(
      cacheKey("ns", undefined, [u8("a", [1]), u8("b", [2, 3])]),
    );
    expect(cacheKey("ns", undefined, [u8("ab", [1])])).not.toBe(
      cacheKey("ns", undefined, [u8("a", [1]), u8("b", [])]),
    );
    // Requested output names and namespace.
    expect(cacheKey("ns", ["ab", "c"], [])).not.toBe(cacheKey("ns", ["a", "bc"], []));
    expect(cacheKey("nsa", ["b"], [])).not.toBe(cacheKey("ns", ["ab"], []));
  });

  it("keeps names that differ only in a lone surrogate apart", () => {
    expect(cacheKey("\ud800", undefined, [])).not.toBe(cacheKey("\udbff", undefined, []));
  });
});
