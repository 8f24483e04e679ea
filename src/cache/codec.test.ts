import { describe, expect, it } from "vitest";
import { DATATYPES, type Datatype, type NamedTensor, tensorToRaw } from "../tensor/index.js";
import { CacheCodecError, type CachedAnswer, decodeAnswer, encodeAnswer } from "./codec.js";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** A small tensor of each datatype with edge values (extremes, NaN, -0, empty strings). */
const SAMPLES: Record<Datatype, NamedTensor> = {
  BOOL: { name: "bool", datatype: "BOOL", shape: [3], data: Uint8Array.of(1, 0, 1) },
  UINT8: { name: "u8", datatype: "UINT8", shape: [2], data: Uint8Array.of(0, 255) },
  UINT16: { name: "u16", datatype: "UINT16", shape: [2], data: Uint16Array.of(1, 65535) },
  UINT32: { name: "u32", datatype: "UINT32", shape: [2], data: Uint32Array.of(0, 0xffffffff) },
  UINT64: {
    name: "u64",
    datatype: "UINT64",
    shape: [2],
    data: BigUint64Array.of(0n, 0xffff_ffff_ffff_ffffn),
  },
  INT8: { name: "i8", datatype: "INT8", shape: [2], data: Int8Array.of(-128, 127) },
  INT16: { name: "i16", datatype: "INT16", shape: [2], data: Int16Array.of(-32768, 32767) },
  INT32: { name: "i32", datatype: "INT32", shape: [1, 2], data: Int32Array.of(-(2 ** 31), 7) },
  INT64: {
    name: "i64",
    datatype: "INT64",
    shape: [2, 1],
    data: BigInt64Array.of(-0x8000_0000_0000_0000n, 0x7fff_ffff_ffff_ffffn),
  },
  FP16: { name: "f16", datatype: "FP16", shape: [3], data: Uint16Array.of(0x3c00, 0x7e00, 0x8000) },
  BF16: { name: "bf16", datatype: "BF16", shape: [2], data: Uint16Array.of(0x3f80, 0xff80) },
  FP32: {
    name: "f32",
    datatype: "FP32",
    shape: [2, 2],
    data: Float32Array.of(Number.NaN, -0, Number.POSITIVE_INFINITY, 1.5),
  },
  FP64: { name: "f64", datatype: "FP64", shape: [], data: Float64Array.of(Math.PI) },
  BYTES: {
    name: "s",
    datatype: "BYTES",
    shape: [3],
    data: [utf8("héllo"), utf8(""), Uint8Array.of(0, 255)],
  },
};

/** Compares what matters, bit for bit (NaN and -0 included): name, datatype, shape, raw bytes. */
function expectSame(actual: NamedTensor[], expected: NamedTensor[]): void {
  expect(actual.map((t) => [t.name, t.datatype, [...t.shape]])).toEqual(
    expected.map((t) => [t.name, t.datatype, [...t.shape]]),
  );
  actual.forEach((t, i) => {
    const want = expected[i];
    if (want === undefined) throw new Error("missing tensor");
    expect(Buffer.from(tensorToRaw(t)).equals(Buffer.from(tensorToRaw(want)))).toBe(true);
    expect(t.data.constructor).toBe(want.data.constructor);
  });
}

describe("cache codec", () => {
  it.each(DATATYPES)("round-trips %s", (datatype) => {
    const answer: CachedAnswer = { outputs: [SAMPLES[datatype]] };
    const decoded = decodeAnswer(encodeAnswer(answer));
    expectSame(decoded.outputs, answer.outputs);
    expect(decoded.modelVersion).toBeUndefined();
  });

  it("round-trips every datatype together, with the model version and odd names", () => {
    const outputs = DATATYPES.map((dt, i) => ({
      ...SAMPLES[dt],
      name: `${SAMPLES[dt].name}-✓-${i}\ud800`,
    }));
    const decoded = decodeAnswer(encodeAnswer({ outputs, modelVersion: "3" }));
    expectSame(decoded.outputs, outputs);
    expect(decoded.outputs[0]?.name).toBe("bool-✓-0\ud800");
    expect(decoded.modelVersion).toBe("3");
  });

  it("round-trips empty answers, empty tensors and an empty model version", () => {
    expect(decodeAnswer(encodeAnswer({ outputs: [] }))).toEqual({ outputs: [] });
    const empty: NamedTensor = {
      name: "",
      datatype: "FP32",
      shape: [0, 3],
      data: new Float32Array(0),
    };
    const decoded = decodeAnswer(encodeAnswer({ outputs: [empty], modelVersion: "" }));
    expectSame(decoded.outputs, [empty]);
    expect(decoded.modelVersion).toBe("");
  });

  it("decodes into fresh memory: changing the stored bytes later changes nothing", () => {
    const bytes = encodeAnswer({ outputs: [SAMPLES.INT32, SAMPLES.BYTES] });
    const decoded = decodeAnswer(bytes);
    bytes.fill(0xaa);
    expectSame(decoded.outputs, [SAMPLES.INT32, SAMPLES.BYTES]);
  });

  it("decodes from an unaligned view inside a larger buffer", () => {
    const bytes = encodeAnswer({ outputs: [SAMPLES.FP64, SAMPLES.UINT64] });
    const padded = new Uint8Array(bytes.length + 3);
    padded.set(bytes, 1);
    expectSame(decodeAnswer(padded.subarray(1, 1 + bytes.length)).outputs, [
      SAMPLES.FP64,
      SAMPLES.UINT64,
    ]);
  });

  it("rejects every truncation and any trailing byte", () => {
    const bytes = encodeAnswer({ outputs: [SAMPLES.FP32, SAMPLES.BYTES], modelVersion: "1" });
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeAnswer(bytes.subarray(0, n)), `prefix of ${n} bytes`).toThrow(
        CacheCodecError,
      );
    }
    expect(() => decodeAnswer(Buffer.concat([bytes, Buffer.of(0)]))).toThrow(CacheCodecError);
  });

  it("rejects foreign values, other format versions and unknown datatypes", () => {
    const bytes = encodeAnswer({ outputs: [SAMPLES.UINT8] });
    expect(() => decodeAnswer(Buffer.from("OK, a plain string value"))).toThrow(
      /not a cached answer/,
    );
    const otherFormat = Buffer.from(bytes);
    otherFormat[4] = 2;
    expect(() => decodeAnswer(otherFormat)).toThrow(/unknown cache format 2/);
    const badType = Buffer.from(bytes);
    // magic 4, format 1, flags 1, count 4, name length 4 + "u8" in UTF-16 (4): datatype next.
    badType[4 + 1 + 1 + 4 + 4 + 4] = DATATYPES.length;
    expect(() => decodeAnswer(badType)).toThrow(/unknown datatype/);
  });

  it("rejects a count too large for the value without looping over it", () => {
    const bytes = encodeAnswer({ outputs: [] });
    bytes.writeUInt32LE(0xffffffff, 6);
    expect(() => decodeAnswer(bytes)).toThrow(/cannot fit/);
  });

  it("rejects raw bytes that do not match the shape", () => {
    const bytes = encodeAnswer({ outputs: [SAMPLES.UINT16] });
    // Shape [2] -> [3]: the 4 data bytes no longer fit.
    const shapeAt = 4 + 1 + 1 + 4 + 4 + 6 + 1 + 1;
    expect(bytes.readDoubleLE(shapeAt)).toBe(2);
    bytes.writeDoubleLE(3, shapeAt);
    expect(() => decodeAnswer(bytes)).toThrow(/invalid tensor/);
  });
});
