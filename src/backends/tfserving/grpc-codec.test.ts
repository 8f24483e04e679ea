import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../../tensor/types.js";
import { fromTensorProto, toTensorProto } from "./grpc-codec.js";

describe("TensorProto codec", () => {
  it("sends numeric tensors as little-endian tensor_content and strings as string_val", () => {
    const x: NamedTensor = {
      name: "x",
      datatype: "INT16",
      shape: [2],
      data: Int16Array.from([1, -2]),
    };
    const proto = toTensorProto(x);
    expect(proto.dtype).toBe("DT_INT16");
    expect(proto.tensor_shape).toEqual({ dim: [{ size: 2 }] });
    expect(Array.from(proto.tensor_content ?? [])).toEqual([1, 0, 0xfe, 0xff]);
    const s = toTensorProto({ datatype: "BYTES", shape: [1], data: [Uint8Array.of(7)] });
    expect(s.string_val?.map((b) => Array.from(b))).toEqual([[7]]);
    expect(s.tensor_content).toBeUndefined();
  });

  it("reads tensor_content back", () => {
    const y = fromTensorProto("tfs", "y", {
      dtype: "DT_HALF",
      tensor_shape: { dim: [{ size: "2" }] },
      tensor_content: Uint8Array.from([0x00, 0x3c, 0xff, 0x7b]),
    });
    expect(y).toMatchObject({ name: "y", datatype: "FP16", shape: [2] });
    expect(Array.from(y.data as Uint16Array)).toEqual([0x3c00, 0x7bff]);
  });

  it("reads the typed *_val fields with TensorFlow's repeat-the-last-value rule", () => {
    const f = fromTensorProto("tfs", "f", {
      dtype: "DT_FLOAT",
      tensor_shape: { dim: [{ size: "2" }, { size: "2" }] },
      float_val: [1.5, 2],
    });
    expect(Array.from(f.data as Float32Array)).toEqual([1.5, 2, 2, 2]);
    const i = fromTensorProto("tfs", "i", {
      dtype: "DT_INT64",
      tensor_shape: { dim: [{ size: "2" }] },
      int64_val: ["-9223372036854775808", "9223372036854775807"],
    });
    expect(Array.from(i.data as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    const z = fromTensorProto("tfs", "z", {
      dtype: "DT_BOOL",
      tensor_shape: { dim: [{ size: "3" }] },
    });
    expect(Array.from(z.data as Uint8Array)).toEqual([0, 0, 0]);
    const h = fromTensorProto("tfs", "h", {
      dtype: "DT_BFLOAT16",
      tensor_shape: { dim: [{ size: "1" }] },
      half_val: [0x3f80],
    });
    expect(h.datatype).toBe("BF16");
    expect(Array.from(h.data as Uint16Array)).toEqual([0x3f80]);
  });

  it("blames the backend for a malformed answer", () => {
    const bad = [
      { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1" }] }, float_val: [1, 2] },
      {
        dtype: "DT_FLOAT",
        tensor_shape: { dim: [{ size: "2" }] },
        tensor_content: Uint8Array.of(1),
      },
      { dtype: "DT_COMPLEX64", tensor_shape: { dim: [] } },
      { dtype: "DT_FLOAT", tensor_shape: { dim: [{ size: "1000000000000" }] }, float_val: [1] },
      { dtype: "DT_FLOAT", tensor_shape: null },
    ];
    for (const proto of bad) {
      expect(() => fromTensorProto("tfs", "y", proto)).toThrow(
        expect.objectContaining({ code: "BACKEND_ERROR" }),
      );
    }
  });
});
