import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../errors.js";
import { byteView, emptyData, type FixedData } from "./datatype.js";
import { decodeLittleEndian, encodeLittleEndian, LITTLE_ENDIAN_HOST } from "./endian.js";
import { tensorFromRaw, tensorToRaw } from "./raw.js";
import type { Datatype } from "./types.js";

function invalid(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    if (err instanceof GatewayError) {
      expect(err.code).toBe("INVALID_REQUEST");
      return err.message;
    }
  }
  throw new Error("expected an InvalidRequestError");
}

const bytes = (...values: number[]) => new Uint8Array(values);

describe("tensorToRaw", () => {
  it("writes little-endian row-major bytes", () => {
    const t = { datatype: "INT32" as const, shape: [2], data: new Int32Array([1, -2]) };
    expect(Array.from(tensorToRaw(t))).toEqual([1, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
    const f = { datatype: "FP32" as const, shape: [1], data: new Float32Array([1]) };
    expect(Array.from(tensorToRaw(f))).toEqual([0, 0, 0x80, 0x3f]);
    const h = { datatype: "FP16" as const, shape: [1], data: new Uint16Array([0x3c00]) };
    expect(Array.from(tensorToRaw(h))).toEqual([0x00, 0x3c]);
    const l = { datatype: "INT64" as const, shape: [1], data: new BigInt64Array([258n]) };
    expect(Array.from(tensorToRaw(l))).toEqual([2, 1, 0, 0, 0, 0, 0, 0]);
  });

  it("writes BYTES as uint32 LE length + bytes", () => {
    const t = { datatype: "BYTES" as const, shape: [2], data: [bytes(0x61, 0x62), bytes()] };
    expect(Array.from(tensorToRaw(t))).toEqual([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
  });
});

describe("tensorFromRaw", () => {
  it("reads little-endian row-major bytes", () => {
    const t = tensorFromRaw("UINT16", [1, 2], bytes(1, 2, 0xff, 0));
    expect(t).toEqual({ datatype: "UINT16", shape: [1, 2], data: new Uint16Array([0x201, 0xff]) });
    const s = tensorFromRaw("BYTES", [2, 1], bytes(1, 0, 0, 0, 0x7a, 0, 0, 0, 0));
    expect(s.data).toEqual([bytes(0x7a), bytes()]);
    expect(tensorFromRaw("FP64", [0, 5], bytes()).data).toEqual(new Float64Array());
  });

  it("copies out of an unaligned, reused Buffer", () => {
    const pool = Buffer.alloc(32);
    const view = pool.subarray(3, 3 + 8); // offset 3: no Float32Array may view it
    view.set(new Uint8Array(new Float32Array([1.5, -2]).buffer));
    const t = tensorFromRaw("FP32", [2], view);
    const element = pool.subarray(11, 11 + 5);
    element.set([1, 0, 0, 0, 0x2a]);
    const s = tensorFromRaw("BYTES", [1], element);
    pool.fill(0xee);
    expect(t.data).toEqual(new Float32Array([1.5, -2]));
    expect(s.data).toEqual([bytes(0x2a)]);
  });

  it.each<[Datatype, number[], Uint8Array, RegExp]>([
    [
      "FP32",
      [2, 2],
      new Uint8Array(15),
      /raw FP32 contents for shape \[2,2\] must be 16 bytes.*got 15/,
    ],
    ["INT64", [1], new Uint8Array(9), /must be 8 bytes.*got 9/],
    ["UINT8", [-1], new Uint8Array(0), /dimension 0 must be a non-negative integer/],
    ["BYTES", [3], bytes(1, 0, 0, 0, 0x61, 0, 0, 0, 0), /too short for the 3 elements/],
    [
      "BYTES",
      [2],
      bytes(3, 0, 0, 0, 0x61, 0x62, 0x63, 1, 0),
      /element 1: truncated length prefix \(2 bytes left at offset 7/,
    ],
    ["BYTES", [2], bytes(1, 0, 0, 0, 0x61, 3, 0, 0, 0, 1), /element 1: length 3 runs past the end/],
    ["BYTES", [2], bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0), /2 bytes after the 2 elements/],
    ["BYTES", [2], bytes(5, 0, 0, 0, 1, 2, 3, 4), /element 0: length 5 runs past the end/],
    ["BYTES", [1], bytes(0, 0, 0, 0, 0, 0, 0, 0), /4 bytes after the 1 elements.*too many/],
    [
      "BYTES",
      [2],
      bytes(4, 0, 0, 0, 1, 2, 3, 4),
      /contents end after 1 elements; shape \[2\] needs 2/,
    ],
  ])("rejects %s %j %o", (datatype, shape, raw, message) => {
    expect(invalid(() => tensorFromRaw(datatype, shape, raw))).toMatch(message);
  });
});

describe("portable little-endian codec", () => {
  const samples: Array<[Datatype, number[] | bigint[]]> = [
    ["UINT8", [0, 1, 255]],
    ["INT8", [-128, 0, 127]],
    ["UINT16", [0, 0x1234, 0xffff]],
    ["INT16", [-32768, -2, 32767]],
    ["UINT32", [0, 0x12345678, 0xffffffff]],
    ["INT32", [-(2 ** 31), -2, 2 ** 31 - 1]],
    ["FP32", [1.5, -0, Number.NEGATIVE_INFINITY]],
    ["FP64", [Math.PI, -1e300, 5e-324]],
    ["INT64", [-(2n ** 63n), -2n, 2n ** 63n - 1n]],
    ["UINT64", [0n, 0x0102030405060708n, 2n ** 64n - 1n]],
  ];

  it.each(samples)("%s agrees with the host fast path and with known bytes", (datatype, values) => {
    if (datatype === "BYTES") throw new Error("fixed types only");
    const data: FixedData = emptyData(datatype, values.length);
    values.forEach((v, i) => {
      data[i] = v;
    });
    const encoded = encodeLittleEndian(data);
    if (LITTLE_ENDIAN_HOST) expect(encoded).toEqual(new Uint8Array(byteView(data)));
    const back = emptyData(datatype, values.length);
    decodeLittleEndian(encoded, back);
    expect(back).toEqual(data);
  });

  it("puts the low byte first", () => {
    expect(Array.from(encodeLittleEndian(new Uint32Array([0x01020304])))).toEqual([4, 3, 2, 1]);
    const out = new BigUint64Array(1);
    decodeLittleEndian(bytes(8, 7, 6, 5, 4, 3, 2, 1), out);
    expect(out[0]).toBe(0x0102030405060708n);
  });
});
