/** Edge values of every datatype for the echo round trips, and a comparable view of tensor data. */
import type { Datatype, NamedTensor, Tensor } from "../../src/tensor/index.js";

const utf8 = new TextEncoder();
const SHAPE = [2, 3];

/** An input `x` of shape [2,3] holding edge values of `datatype`. */
export function echoValues(datatype: Datatype, exact64: boolean): NamedTensor {
  const big = (exact: bigint, safe: bigint) => (exact64 ? exact : safe);
  const max53 = 2n ** 53n - 1n;
  const make = (data: Tensor["data"]): NamedTensor => ({ name: "x", datatype, shape: SHAPE, data });
  switch (datatype) {
    case "BOOL":
      return make(Uint8Array.from([1, 0, 1, 1, 0, 0]));
    case "UINT8":
      return make(Uint8Array.from([0, 255, 1, 128, 7, 254]));
    case "UINT16":
      return make(Uint16Array.from([0, 65535, 1, 32768, 7, 65534]));
    case "UINT32":
      return make(Uint32Array.from([0, 4294967295, 1, 2147483648, 7, 123456789]));
    case "UINT64":
      return make(
        BigUint64Array.from([
          0n,
          big(2n ** 64n - 1n, max53),
          1n,
          big(2n ** 63n, 2n ** 52n),
          7n,
          big(2n ** 53n + 1n, 12345n),
        ]),
      );
    case "INT8":
      return make(Int8Array.from([-128, 127, 0, -1, 1, 42]));
    case "INT16":
      return make(Int16Array.from([-32768, 32767, 0, -1, 1, 4242]));
    case "INT32":
      return make(Int32Array.from([-2147483648, 2147483647, 0, -1, 1, 424242]));
    case "INT64":
      return make(
        BigInt64Array.from([
          big(-(2n ** 63n), -max53),
          big(2n ** 63n - 1n, max53),
          0n,
          -1n,
          1n,
          big(2n ** 53n + 1n, 4242n),
        ]),
      );
    case "FP16":
      // 1.0, 65504 (max), smallest subnormal, -2.0, 0.333 (rounded), 0
      return make(Uint16Array.from([0x3c00, 0x7bff, 0x0001, 0xc000, 0x3555, 0x0000]));
    case "BF16":
      return make(Uint16Array.from([0x3f80, 0x7f7f, 0x0001, 0xc000, 0x3eab, 0x0000]));
    case "FP32":
      return make(
        Float32Array.from([
          1.5,
          -2.25,
          3.4028234663852886e38,
          1.401298464324817e-45,
          Math.fround(0.1),
          Math.fround(12345.6789),
        ]),
      );
    case "FP64":
      return make(Float64Array.from([0.1, -1e308, 5e-324, 1 / 3, 2 ** 53 + 2, -123.456]));
    case "BYTES":
      return make(
        ["hello", "", "ünïcödé", "emoji 🚀", 'quote " and \\ backslash', "x".repeat(300)].map((s) =>
          utf8.encode(s),
        ),
      );
  }
}

/**
 * An input `x` of shape [2,3] of BYTES that are not plain text: an embedded NUL, only control
 * bytes, bytes that are not UTF-8, an empty element and a long one.
 */
export function arbitraryBytes(): NamedTensor {
  const data = [
    utf8.encode("he\0llo"),
    Uint8Array.from([0x00, 0x01, 0x02, 0x03]),
    Uint8Array.from([0xff, 0xfe, 0xc0, 0x80]),
    new Uint8Array(0),
    Uint8Array.from({ length: 300 }, (_, i) => i % 256),
    utf8.encode("ünïcödé"),
  ];
  return { name: "x", datatype: "BYTES", shape: SHAPE, data };
}

/** Tensor data as plain values for toEqual (bigint kept, bytes as arrays of numbers). */
export function toComparable(tensor: Tensor | undefined): unknown[] {
  if (tensor === undefined) return [];
  if (Array.isArray(tensor.data)) return tensor.data.map((b) => Array.from(b));
  return Array.from(tensor.data as ArrayLike<number | bigint>);
}
