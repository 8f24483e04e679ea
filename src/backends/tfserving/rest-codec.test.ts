import { describe, expect, it } from "vitest";
import type { NamedTensor } from "../../tensor/types.js";
import { parseAnswer, predictRequestText, tensorFromAnswer, tensorJsonText } from "./rest-codec.js";

const t = (tensor: Omit<NamedTensor, "name">): NamedTensor => ({ name: "x", ...tensor });

describe("TF Serving JSON request text", () => {
  it("writes int64 and uint64 with every digit", () => {
    const text = tensorJsonText(
      t({
        datatype: "INT64",
        shape: [2],
        data: BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]),
      }),
    );
    expect(text).toBe("[-9223372036854775808,9223372036854775807]");
    const u = tensorJsonText(
      t({ datatype: "UINT64", shape: [1, 1], data: BigUint64Array.from([2n ** 64n - 1n]) }),
    );
    expect(u).toBe("[[18446744073709551615]]");
  });

  it("gives whole floats a fraction and writes TF Serving's NaN/Infinity tokens", () => {
    const text = tensorJsonText(
      t({
        datatype: "FP64",
        shape: [2, 3],
        data: Float64Array.from([2 ** 53 + 2, 1.5, Number.NaN, Infinity, -Infinity, 1e300]),
      }),
    );
    expect(text).toBe("[[9007199254740994.0,1.5,NaN],[Infinity,-Infinity,1e+300]]");
  });

  it("sends BYTES as b64 objects, scalars bare and zero-size dimensions as empty lists", () => {
    const bytes = t({ datatype: "BYTES", shape: [], data: [Uint8Array.from([0, 255, 34])] });
    expect(tensorJsonText(bytes)).toBe('{"b64":"AP8i"}');
    expect(tensorJsonText(t({ datatype: "INT32", shape: [2, 0], data: new Int32Array(0) }))).toBe(
      "[[],[]]",
    );
    expect(
      predictRequestText("sig", [
        t({ datatype: "BOOL", shape: [2], data: Uint8Array.from([1, 0]) }),
      ]),
    ).toBe('{"signature_name":"sig","inputs":{"x":[true,false]}}');
  });
});

describe("TF Serving JSON answers", () => {
  it("keeps int64 beyond 2^53 exact and leaves strings alone", () => {
    const { value, rewritten } = parseAnswer(
      "tfs",
      '{"outputs":{"a":[9223372036854775807,-9007199254740993,1],"s":["NaN 12345678901234567"]}}',
    );
    expect(rewritten).toBe(true);
    const outputs = (value as { outputs: Record<string, unknown> }).outputs;
    const a = tensorFromAnswer("tfs", "a", outputs.a, "INT64", rewritten);
    expect(Array.from(a.data as BigInt64Array)).toEqual([2n ** 63n - 1n, -(2n ** 53n) - 1n, 1n]);
    const s = tensorFromAnswer("tfs", "s", outputs.s, "BYTES", rewritten);
    expect(Buffer.from((s.data as Uint8Array[])[0] ?? []).toString()).toBe("NaN 12345678901234567");
  });

  it("reads NaN and infinities into floats", () => {
    const { value, rewritten } = parseAnswer("tfs", '{"outputs":[[NaN,-Infinity],[Infinity,2.5]]}');
    const tensor = tensorFromAnswer(
      "tfs",
      "y",
      (value as { outputs: unknown }).outputs,
      "FP32",
      rewritten,
    );
    expect(tensor.shape).toEqual([2, 2]);
    expect(Array.from(tensor.data as Float32Array)).toEqual([Number.NaN, -Infinity, Infinity, 2.5]);
  });

  it("reads b64 objects and plain strings as bytes", () => {
    const tensor = tensorFromAnswer("tfs", "y", [{ b64: "AP8=" }, "hé"], "BYTES", false);
    expect((tensor.data as Uint8Array[]).map((b) => Array.from(b))).toEqual([
      [0, 255],
      [0x68, 0xc3, 0xa9],
    ]);
  });

  it("blames the backend for a malformed answer", () => {
    expect(() => tensorFromAnswer("tfs", "y", [[1, 2], [3]], "FP32", false)).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
    expect(() => parseAnswer("tfs", "{oops")).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });
});
