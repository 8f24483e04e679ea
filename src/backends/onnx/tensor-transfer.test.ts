import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../../tensor/types.js";
import { asNamedTensors, compactCopies, isNamedTensor, transferables } from "./tensor-transfer.js";

const utf8 = new TextEncoder();

/** Every datatype's canonical storage, with the values that are easiest to get wrong. */
const SAMPLES: NamedTensor[] = [
  { name: "bool", datatype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) },
  {
    name: "u64",
    datatype: "UINT64",
    shape: [1, 2],
    data: BigUint64Array.from([0n, 2n ** 64n - 1n]),
  },
  {
    name: "i64",
    datatype: "INT64",
    shape: [2],
    data: BigInt64Array.from([-(2n ** 63n), 2n ** 53n + 1n]),
  },
  { name: "half", datatype: "FP16", shape: [3], data: Uint16Array.from([0x3c00, 0x7e01, 0x8000]) },
  { name: "bf", datatype: "BF16", shape: [1], data: Uint16Array.from([0x3f80]) },
  {
    name: "f32",
    datatype: "FP32",
    shape: [2],
    data: new Float32Array(new Uint32Array([0x7fa00001, 1]).buffer),
  },
  { name: "f64", datatype: "FP64", shape: [1], data: Float64Array.from([-0]) },
  { name: "s", datatype: "BYTES", shape: [2], data: [utf8.encode("ünï"), new Uint8Array(0)] },
  { name: "empty", datatype: "INT32", shape: [0, 3], data: new Int32Array(0) },
];

function bytes(t: NamedTensor): number[] {
  const views = Array.isArray(t.data) ? t.data : [t.data];
  return views.flatMap((v) => [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength), -1]);
}

describe("tensors crossing threads", () => {
  it("survive a structured clone bit for bit, and are recognised on the other side", () => {
    const { tensors, transfer } = compactCopies(SAMPLES);
    const cloned: unknown = structuredClone(tensors, { transfer });
    const back = asNamedTensors(cloned);
    expect(back).toBeDefined();
    expect(back?.map((t) => [t.name, t.datatype, t.shape, bytes(t)])).toEqual(
      SAMPLES.map((t) => [t.name, t.datatype, t.shape, bytes(t)]),
    );
    expect(back?.[1]?.data).toBeInstanceOf(BigUint64Array);
  });

  it("copies exactly the elements of views, and never moves the caller's buffers", () => {
    const body = new ArrayBuffer(64);
    const floats = new Float32Array(body, 8, 4).fill(1.5);
    const raw = utf8.encode("xxhelloyy");
    const input: NamedTensor[] = [
      { name: "f", datatype: "FP32", shape: [4], data: floats },
      { name: "b", datatype: "BYTES", shape: [1], data: [raw.subarray(2, 7)] },
    ];
    const { tensors, transfer } = compactCopies(input);
    expect(transfer.map((b) => b.byteLength)).toEqual([16, 5]);
    structuredClone(tensors, { transfer });
    expect(body.byteLength).toBe(64); // the caller's buffers are intact
    expect([...floats]).toEqual([1.5, 1.5, 1.5, 1.5]);
    expect(raw.byteLength).toBe(9);
  });

  it("moves only buffers that one view spans whole", () => {
    const own = new Float32Array(4);
    const pooled = Buffer.from("abc"); // a slice of Node's shared pool
    const shared = new ArrayBuffer(8);
    const tensors: NamedTensor[] = [
      { name: "own", datatype: "FP32", shape: [4], data: own },
      { name: "b", datatype: "BYTES", shape: [1], data: [pooled] },
      { name: "x", datatype: "UINT8", shape: [4], data: new Uint8Array(shared, 0, 4) },
      { name: "y", datatype: "UINT8", shape: [8], data: new Uint8Array(shared) },
      { name: "z", datatype: "UINT8", shape: [0], data: new Uint8Array(0) },
    ];
    expect(transferables(tensors)).toEqual([own.buffer]);
  });

  it("refuses values that are not well-formed canonical tensors", () => {
    const good: NamedTensor = {
      name: "a",
      datatype: "INT16",
      shape: [2],
      data: Int16Array.from([1, 2]),
    };
    expect(isNamedTensor(good)).toBe(true);
    const bad: unknown[] = [
      null,
      "tensor",
      { ...good, name: 3 },
      { ...good, datatype: "INT128" },
      { ...good, shape: [3] }, // two elements for three
      { ...good, shape: [-2] },
      { ...good, data: Int32Array.from([1, 2]) }, // the wrong array class
      { ...good, datatype: "BYTES", data: ["a", "b"] },
      { name: "a", datatype: "INT16", shape: [2] },
    ];
    for (const value of bad) expect(isNamedTensor(value), JSON.stringify(value) ?? "").toBe(false);
    expect(asNamedTensors([good, bad[2]])).toBeUndefined();
    expect(asNamedTensors({ 0: good })).toBeUndefined();
  });
});
