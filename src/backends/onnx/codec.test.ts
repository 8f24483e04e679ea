import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import protobuf from "protobufjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BackendError, InvalidRequestError } from "../../errors.js";
import type { Datatype, NamedTensor } from "../../tensor/types.js";
import {
  checkOrtInput,
  datatypeOfOrt,
  fromOrtTensor,
  SUPPORTED_DATATYPES,
  toOrtTensor,
} from "./codec.js";

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** One 2x2 tensor per datatype ORT supports, with each type's edge values. */
const SAMPLES: Readonly<Record<Exclude<Datatype, "BF16">, NamedTensor>> = {
  BOOL: { name: "t_bool", datatype: "BOOL", shape: [2, 2], data: Uint8Array.from([1, 0, 0, 1]) },
  UINT8: {
    name: "t_u8",
    datatype: "UINT8",
    shape: [2, 2],
    data: Uint8Array.from([0, 1, 128, 255]),
  },
  UINT16: {
    name: "t_u16",
    datatype: "UINT16",
    shape: [2, 2],
    data: Uint16Array.from([0, 1, 300, 65535]),
  },
  UINT32: {
    name: "t_u32",
    datatype: "UINT32",
    shape: [2, 2],
    data: Uint32Array.from([0, 1, 70000, 4294967295]),
  },
  UINT64: {
    name: "t_u64",
    datatype: "UINT64",
    shape: [2, 2],
    data: BigUint64Array.from([0n, 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]),
  },
  INT8: { name: "t_i8", datatype: "INT8", shape: [2, 2], data: Int8Array.from([-128, -1, 0, 127]) },
  INT16: {
    name: "t_i16",
    datatype: "INT16",
    shape: [2, 2],
    data: Int16Array.from([-32768, -1, 0, 32767]),
  },
  INT32: {
    name: "t_i32",
    datatype: "INT32",
    shape: [2, 2],
    data: Int32Array.from([-2147483648, -1, 0, 2147483647]),
  },
  INT64: {
    name: "t_i64",
    datatype: "INT64",
    shape: [2, 2],
    data: BigInt64Array.from([-(2n ** 63n), -1n, 2n ** 53n + 1n, 2n ** 63n - 1n]),
  },
  // IEEE half bits: 1.0, -2.0, 65504 (max), +infinity.
  FP16: {
    name: "t_f16",
    datatype: "FP16",
    shape: [2, 2],
    data: Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x7c00]),
  },
  FP32: {
    name: "t_f32",
    datatype: "FP32",
    shape: [2, 2],
    data: Float32Array.from([-1.5, 0, 3.25, 1e30]),
  },
  FP64: {
    name: "t_f64",
    datatype: "FP64",
    shape: [2, 2],
    data: Float64Array.from([-1e300, 0, Math.PI, 5e-324]),
  },
  BYTES: {
    name: "t_bytes",
    datatype: "BYTES",
    shape: [2, 2],
    data: [utf8("hello"), utf8(""), utf8("héllo wörld"), utf8("日本")],
  },
};

const ORT_TYPE: Readonly<Record<Exclude<Datatype, "BF16">, string>> = {
  BOOL: "bool",
  UINT8: "uint8",
  UINT16: "uint16",
  UINT32: "uint32",
  UINT64: "uint64",
  INT8: "int8",
  INT16: "int16",
  INT32: "int32",
  INT64: "int64",
  FP16: "float16",
  FP32: "float32",
  FP64: "float64",
  BYTES: "string",
};

/** TensorProto.DataType numbers from onnx/onnx onnx.proto. */
const ONNX_ELEM: Readonly<Record<Exclude<Datatype, "BF16">, number>> = {
  FP32: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  BYTES: 8,
  BOOL: 9,
  FP16: 10,
  FP64: 11,
  UINT32: 12,
  UINT64: 13,
};

const samples = Object.values(SAMPLES);

function expectSameTensor(actual: NamedTensor, expected: NamedTensor): void {
  expect(actual.name).toBe(expected.name);
  expect(actual.datatype).toBe(expected.datatype);
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.data.constructor).toBe(expected.data.constructor);
  if (Array.isArray(expected.data) && Array.isArray(actual.data)) {
    expect(actual.data.map((b) => [...b])).toEqual(expected.data.map((b) => [...b]));
  } else {
    expect(actual.data).toEqual(expected.data);
  }
}

describe("toOrtTensor / fromOrtTensor", () => {
  it("covers every KServe datatype except BF16", () => {
    expect([...SUPPORTED_DATATYPES].sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it.each(samples)("round-trips $datatype", (sample) => {
    const ortTensor = toOrtTensor(sample);
    expect(ortTensor.type).toBe(ORT_TYPE[sample.datatype as Exclude<Datatype, "BF16">]);
    expect(ortTensor.dims).toEqual([2, 2]);
    expectSameTensor(fromOrtTensor(sample.name, ortTensor), sample);
  });

  it("carries BYTES as UTF-8 strings", () => {
    expect(toOrtTensor(SAMPLES.BYTES).data).toEqual(["hello", "", "héllo wörld", "日本"]);
  });

  it("keeps scalars and empty tensors", () => {
    const scalar: NamedTensor = {
      name: "s",
      datatype: "FP32",
      shape: [],
      data: Float32Array.from([7]),
    };
    expectSameTensor(fromOrtTensor("s", toOrtTensor(scalar)), scalar);
    const empty: NamedTensor = {
      name: "e",
      datatype: "INT64",
      shape: [0, 3],
      data: new BigInt64Array(0),
    };
    expectSameTensor(fromOrtTensor("e", toOrtTensor(empty)), empty);
  });

  it("rejects BF16 as an invalid request", () => {
    const bf16: NamedTensor = {
      name: "x",
      datatype: "BF16",
      shape: [1],
      data: Uint16Array.from([0x3f80]),
    };
    expect(() => toOrtTensor(bf16)).toThrow(InvalidRequestError);
    expect(() => toOrtTensor(bf16)).toThrow(/BF16/);
  });

  it("rejects BYTES that are not UTF-8", () => {
    const bad: NamedTensor = {
      name: "x",
      datatype: "BYTES",
      shape: [1],
      data: [Uint8Array.from([0xff, 0xfe])],
    };
    expect(() => toOrtTensor(bad, "input x")).toThrow(/input x: element 0 is not valid UTF-8/);
  });

  it("rejects BYTES holding a NUL byte (onnxruntime would cut the string there)", () => {
    const nul: NamedTensor = {
      name: "x",
      datatype: "BYTES",
      shape: [2],
      data: [new TextEncoder().encode("ok"), new TextEncoder().encode("he\0llo")],
    };
    expect(() => toOrtTensor(nul, "input x")).toThrow(/input x: element 1 holds a NUL byte/);
  });

  it("rejects data that does not fill the shape, and negative dimensions", () => {
    const short: NamedTensor = {
      name: "x",
      datatype: "FP32",
      shape: [2, 2],
      data: new Float32Array(3),
    };
    expect(() => toOrtTensor(short)).toThrow(InvalidRequestError);
    const negative: NamedTensor = {
      name: "x",
      datatype: "FP32",
      shape: [-1, 2],
      data: new Float32Array(2),
    };
    expect(() => toOrtTensor(negative)).toThrow(/invalid dimension -1/);
  });

  it("turns ORT's complaint about a mismatched typed array into an invalid request", () => {
    const mismatched = {
      name: "x",
      datatype: "FP32",
      shape: [2],
      data: Int32Array.from([1, 2]),
    } as unknown as NamedTensor;
    expect(() => toOrtTensor(mismatched)).toThrow(InvalidRequestError);
  });

  it("reports an output type without a KServe datatype as a backend error", () => {
    const int4 = new ort.Tensor("int4", Uint8Array.from([0x21]), [2]); // two packed nibbles;
    expect(() => fromOrtTensor("y", int4)).toThrow(BackendError);
    expect(datatypeOfOrt("int4")).toBeUndefined();
    expect(datatypeOfOrt("float16")).toBe("FP16");
  });
});

/** An Identity model with one input and one output per datatype, encoded with scripts/onnx.proto. */
function identityModel(): Uint8Array {
  const proto = join(import.meta.dirname, "..", "..", "..", "scripts", "onnx.proto");
  const ModelProto = protobuf.loadSync(proto).lookupType("onnx.ModelProto");
  const valueInfo = (name: string, elemType: number) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: [{ dimParam: "n" }, { dimValue: 2 }] } } },
  });
  const entries = Object.entries(ONNX_ELEM).map(([datatype, elem]) => ({
    name: SAMPLES[datatype as Exclude<Datatype, "BF16">].name,
    elem,
  }));
  const message = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "identity",
      node: entries.map((e) => ({
        opType: "Identity",
        input: [e.name],
        output: [`${e.name}_out`],
      })),
      input: entries.map((e) => valueInfo(e.name, e.elem)),
      output: entries.map((e) => valueInfo(`${e.name}_out`, e.elem)),
    },
  };
  return ModelProto.encode(ModelProto.fromObject(message)).finish();
}

describe("a real onnxruntime round trip", () => {
  let dir = "";
  let session: ort.InferenceSession;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "infergate-codec-"));
    const path = join(dir, "identity.onnx");
    writeFileSync(path, identityModel());
    session = await ort.InferenceSession.create(path);
  });
  afterAll(async () => {
    await session.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns every datatype unchanged through an Identity graph", async () => {
    const feeds = Object.fromEntries(samples.map((s) => [s.name, toOrtTensor(s)]));
    const results = await session.run(feeds);
    for (const sample of samples) {
      const value = results[`${sample.name}_out`];
      expect(value).toBeInstanceOf(ort.Tensor);
      expectSameTensor(fromOrtTensor(sample.name, value as ort.Tensor), sample);
    }
  });
});

describe("checkOrtInput", () => {
  const bad: Array<[string, NamedTensor]> = [
    ["BF16", { name: "x", datatype: "BF16", shape: [1], data: Uint16Array.of(1) }],
    [
      "a length that does not fit the shape",
      { name: "x", datatype: "FP32", shape: [3], data: Float32Array.of(1, 2) },
    ],
    ["a negative dimension", { name: "x", datatype: "FP32", shape: [-1], data: Float32Array.of() }],
    [
      "BYTES that are not UTF-8",
      {
        name: "x",
        datatype: "BYTES",
        shape: [2],
        data: [Uint8Array.of(104), Uint8Array.of(0xff, 0xfe)],
      },
    ],
    [
      "BYTES holding a NUL byte",
      { name: "x", datatype: "BYTES", shape: [1], data: [Uint8Array.of(0, 1, 2, 3)] },
    ],
  ];
  it.each(bad)("refuses %s exactly as toOrtTensor does", (_label, tensor) => {
    const built = (() => {
      try {
        toOrtTensor(tensor, "t");
        return undefined;
      } catch (err) {
        return err;
      }
    })();
    expect(built).toBeInstanceOf(InvalidRequestError);
    expect(() => checkOrtInput(tensor, "t")).toThrow((built as Error).message);
  });

  it("accepts every sample toOrtTensor accepts", () => {
    for (const sample of Object.values(SAMPLES)) expect(() => checkOrtInput(sample)).not.toThrow();
  });
});
