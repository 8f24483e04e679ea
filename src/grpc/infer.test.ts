import type { CallOptions, Metadata } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bytesRaw,
  type Harness,
  inferRequest,
  input,
  startHarness,
} from "../../test/support/grpc-harness.js";
import type {
  WireModelInferRequest,
  WireModelInferResponse,
  WireTensorContents,
} from "../protocols/kserve/proto.js";
import { type Datatype, tensorFromRaw, tensorToFlatJson } from "../tensor/index.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const infer = (req: Partial<WireModelInferRequest>, md?: Metadata, options?: CallOptions) =>
  h.call(h.methods.ModelInfer, inferRequest(req), md, options);

const inferError = (req: Partial<WireModelInferRequest>, md?: Metadata) =>
  h.callError(h.methods.ModelInfer, inferRequest(req), md);

/** Typed round trips through "double": datatype, field, values sent, values expected back. */
const TYPED_CASES: [Datatype, keyof WireTensorContents, unknown[], unknown[]][] = [
  ["BOOL", "bool_contents", [true, false, true, false], [true, false, true, false]],
  ["INT8", "int_contents", [-3, 5, 63, -64], [-6, 10, 126, -128]],
  ["INT16", "int_contents", [-300, 5, 16000, 1], [-600, 10, 32000, 2]],
  ["INT32", "int_contents", [-70000, 5, 1 << 29, 0], [-140000, 10, 1 << 30, 0]],
  [
    "INT64",
    "int64_contents",
    ["4611686018427387903", "-5", "9007199254740993", "0"],
    ["9223372036854775806", "-10", "18014398509481986", "0"],
  ],
  ["UINT8", "uint_contents", [0, 1, 127, 100], [0, 2, 254, 200]],
  ["UINT16", "uint_contents", [0, 1, 30000, 7], [0, 2, 60000, 14]],
  ["UINT32", "uint_contents", [0, 1, 2147483647, 7], [0, 2, 4294967294, 14]],
  [
    "UINT64",
    "uint64_contents",
    ["9223372036854775807", "1", "0", "3"],
    ["18446744073709551614", "2", "0", "6"],
  ],
  ["FP32", "fp32_contents", [1.5, -2.25, 0, 1024], [3, -4.5, 0, 2048]],
  ["FP64", "fp64_contents", [0.1, -1e300, 0, 3], [0.2, -2e300, 0, 6]],
];

/** Output `i`'s values from its raw_output_contents, as strings (64-bit values stay exact). */
function rawValues(res: WireModelInferResponse, i: number): string[] {
  const out = res.outputs[i];
  const bytes = res.raw_output_contents[i];
  if (out === undefined || bytes === undefined) throw new Error(`no raw output ${i}`);
  const t = tensorFromRaw(out.datatype as Datatype, out.shape.map(Number), bytes);
  return tensorToFlatJson(t).map(String);
}

describe("ModelInfer with typed contents (answered raw, as Triton does)", () => {
  it.each(TYPED_CASES)(
    "%s via %s answers in raw_output_contents",
    async (datatype, field, sent, expected) => {
      const { res } = await infer({
        id: "req-1",
        inputs: [input("x", datatype, [2, 2], { [field]: sent })],
      });
      expect(res.model_name).toBe("double");
      expect(res.model_version).toBe("1");
      expect(res.id).toBe("req-1");
      expect(res.outputs).toHaveLength(1);
      const out = res.outputs[0];
      expect(out?.name).toBe("x");
      expect(out?.datatype).toBe(datatype);
      expect(out?.shape).toEqual(["2", "2"]);
      expect(out?.contents).toBeNull();
      expect(rawValues(res, 0)).toEqual(expected.map(String));
      expect(h.service.lastRequest?.inputs[0]?.datatype).toBe(datatype);
    },
  );

  it("BYTES via bytes_contents keeps arbitrary binary elements", async () => {
    const { res } = await infer({
      inputs: [
        input("s", "BYTES", [2], {
          bytes_contents: [Buffer.from("ab"), Buffer.from([0xff, 0x00])],
        }),
      ],
    });
    // Raw BYTES: each element as a 4-byte little-endian length, then its bytes.
    const raw = Buffer.from(res.raw_output_contents[0] ?? []).toString("hex");
    expect(raw).toBe(`04000000${Buffer.from("abab").toString("hex")}04000000ff00ff00`);
  });

  it("passes requested outputs through and answers only those", async () => {
    const { res } = await infer({
      inputs: [
        input("a", "FP32", [1], { fp32_contents: [1] }),
        input("b", "FP32", [1], { fp32_contents: [2] }),
      ],
      outputs: [{ name: "b", parameters: {} }],
    });
    expect(h.service.lastRequest?.outputs).toEqual(["b"]);
    expect(res.outputs.map((o) => o.name)).toEqual(["b"]);
    expect(rawValues(res, 0)).toEqual(["4"]);
  });

  it("passes request parameters through as plain values", async () => {
    await infer({
      inputs: [input("a", "FP32", [1], { fp32_contents: [1] })],
      parameters: {
        flag: { bool_param: true },
        big: { int64_param: "9007199254740993" },
        small: { int64_param: "42" },
        text: { string_param: "hi" },
        ratio: { double_param: 0.5 },
      },
    });
    expect(h.service.lastRequest?.parameters).toEqual({
      flag: true,
      big: "9007199254740993",
      small: 42,
      text: "hi",
      ratio: 0.5,
    });
  });

  it("answers all outputs raw when one is FP16 (no typed field)", async () => {
    const { res } = await infer({
      model_name: "mixed",
      inputs: [input("a", "FP32", [1], { fp32_contents: [1] })],
    });
    expect(res.outputs.map((o) => [o.name, o.datatype, o.contents])).toEqual([
      ["f32", "FP32", null],
      ["f16", "FP16", null],
    ]);
    expect(res.raw_output_contents.map((b) => Buffer.from(b).toString("hex"))).toEqual([
      "0000c03f",
      "003c",
    ]);
  });

  it.each([
    [
      "a value out of range (int_contents 300 for INT8)",
      input("x", "INT8", [1], { int_contents: [300] }),
    ],
    [
      "a value out of range (uint_contents 256 for UINT8)",
      input("x", "UINT8", [1], { uint_contents: [256] }),
    ],
    ["too few values for the shape", input("x", "FP32", [2, 2], { fp32_contents: [1, 2, 3] })],
    ["no contents at all", input("x", "INT32", [2])],
    ["values in another datatype's field", input("x", "INT32", [1], { fp32_contents: [1] })],
    ["an unknown datatype", input("x", "FP8", [1], { fp32_contents: [1] })],
    ["FP16 without raw contents", input("x", "FP16", [1], { fp32_contents: [1] })],
    ["a negative dimension", input("x", "FP32", [-1], { fp32_contents: [1] })],
  ])("rejects %s with INVALID_ARGUMENT naming the input", async (_what, tensor) => {
    const err = await inferError({ inputs: [tensor] });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("'x'");
  });

  it("rejects the same input name twice", async () => {
    const t = input("x", "FP32", [1], { fp32_contents: [1] });
    const err = await inferError({ inputs: [t, t] });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });
});

/** Little-endian encodings of two elements per datatype and of those elements doubled. */
const RAW_CASES: [Datatype, Buffer, Buffer][] = [
  ["BOOL", Buffer.from([1, 0]), Buffer.from([1, 0])],
  ["INT8", Buffer.from([0xfd, 0x05]), Buffer.from([0xfa, 0x0a])],
  [
    "INT16",
    le(2, (b) => [b.writeInt16LE(-300, 0), b.writeInt16LE(5, 2)]),
    le(2, (b) => [b.writeInt16LE(-600, 0), b.writeInt16LE(10, 2)]),
  ],
  [
    "INT32",
    le(4, (b) => [b.writeInt32LE(-7, 0), b.writeInt32LE(1 << 29, 4)]),
    le(4, (b) => [b.writeInt32LE(-14, 0), b.writeInt32LE(1 << 30, 4)]),
  ],
  [
    "INT64",
    le(8, (b) => [b.writeBigInt64LE(-5n, 0), b.writeBigInt64LE(2n ** 61n + 1n, 8)]),
    le(8, (b) => [b.writeBigInt64LE(-10n, 0), b.writeBigInt64LE(2n ** 62n + 2n, 8)]),
  ],
  ["UINT8", Buffer.from([1, 100]), Buffer.from([2, 200])],
  [
    "UINT16",
    le(2, (b) => [b.writeUInt16LE(1, 0), b.writeUInt16LE(30000, 2)]),
    le(2, (b) => [b.writeUInt16LE(2, 0), b.writeUInt16LE(60000, 2)]),
  ],
  [
    "UINT32",
    le(4, (b) => [b.writeUInt32LE(1, 0), b.writeUInt32LE(2 ** 31 - 1, 4)]),
    le(4, (b) => [b.writeUInt32LE(2, 0), b.writeUInt32LE(2 ** 32 - 2, 4)]),
  ],
  [
    "UINT64",
    le(8, (b) => [b.writeBigUInt64LE(1n, 0), b.writeBigUInt64LE(2n ** 63n - 1n, 8)]),
    le(8, (b) => [b.writeBigUInt64LE(2n, 0), b.writeBigUInt64LE(2n ** 64n - 2n, 8)]),
  ],
  ["FP16", Buffer.from([0x00, 0x3c, 0x00, 0xc0]), Buffer.from([0x00, 0x40, 0x00, 0xc4])], // 1, -2 -> 2, -4
  ["BF16", Buffer.from([0x80, 0x3f, 0x00, 0xc0]), Buffer.from([0x00, 0x40, 0x80, 0xc0])], // 1, -2 -> 2, -4
  [
    "FP32",
    le(4, (b) => [b.writeFloatLE(1.5, 0), b.writeFloatLE(-2.25, 4)]),
    le(4, (b) => [b.writeFloatLE(3, 0), b.writeFloatLE(-4.5, 4)]),
  ],
  [
    "FP64",
    le(8, (b) => [b.writeDoubleLE(0.1, 0), b.writeDoubleLE(-1e300, 8)]),
    le(8, (b) => [b.writeDoubleLE(0.2, 0), b.writeDoubleLE(-2e300, 8)]),
  ],
  ["BYTES", bytesRaw(["ab", "\u00ff"]), bytesRaw(["abab", "\u00ff\u00ff"])],
];

/** A buffer of two elements of `size` bytes filled by `write`. */
function le(size: number, write: (b: Buffer) => unknown): Buffer {
  const b = Buffer.alloc(2 * size);
  write(b);
  return b;
}

describe("ModelInfer with raw_input_contents", () => {
  it.each(RAW_CASES)("%s raw in, raw out", async (datatype, sent, expected) => {
    const { res } = await infer({
      inputs: [input("x", datatype, [2])],
      raw_input_contents: [sent],
    });
    expect(res.outputs).toEqual([
      { name: "x", datatype, shape: ["2"], parameters: {}, contents: null },
    ]);
    expect(res.raw_output_contents.map((b) => Buffer.from(b).toString("hex"))).toEqual([
      expected.toString("hex"),
    ]);
  });

  it("keeps raw inputs in the order of `inputs`", async () => {
    const { res } = await infer({
      inputs: [input("a", "UINT8", [1]), input("b", "UINT8", [2])],
      raw_input_contents: [Buffer.from([1]), Buffer.from([2, 3])],
    });
    expect(res.outputs.map((o) => o.name)).toEqual(["a", "b"]);
    expect(res.raw_output_contents.map((b) => [...b])).toEqual([[2], [4, 6]]);
  });

  it("rejects raw contents mixed with typed contents, as Triton does", async () => {
    const err = await inferError({
      inputs: [input("a", "FP32", [1]), input("b", "FP32", [1], { fp32_contents: [1] })],
      raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toBe(
      "contents field must not be specified when using raw_input_contents for 'b' for model 'double'",
    );
  });

  it("rejects a raw contents count that differs from the inputs count", async () => {
    const err = await inferError({
      inputs: [input("a", "FP32", [1]), input("b", "FP32", [1])],
      raw_input_contents: [Buffer.alloc(4)],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("(2)");
    expect(err.details).toContain("(1)");
  });

  it("rejects raw bytes whose length does not match shape x datatype", async () => {
    const err = await inferError({
      inputs: [input("x", "FP32", [2])],
      raw_input_contents: [Buffer.alloc(7)],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("'x'");
  });

  it("rejects a truncated raw BYTES element", async () => {
    const err = await inferError({
      inputs: [input("x", "BYTES", [1])],
      raw_input_contents: [Buffer.from([5, 0, 0, 0, 0x61])],
    });
    expect(err.code).toBe(status.INVALID_ARGUMENT);
  });
});
