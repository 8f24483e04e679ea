import { describe, expect, it } from "vitest";
import { CHUNK_ELEMENTS, flatJsonText, tensorJsonText } from "./json-chunks.js";
import { nestedJsonText } from "./json-text.js";
import type { Tensor } from "./types.js";

function fp32(shape: number[]): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? Number.NaN : i / 4));
  return { datatype: "FP32", shape, data };
}

describe("tensorJsonText", () => {
  it.each([
    [[3 * CHUNK_ELEMENTS + 5]],
    [[100_000, 3]],
    [[3, 100_000]],
    [[2, CHUNK_ELEMENTS + 1, 1]],
    [[4, 5]],
  ])("writes %j exactly as the one-pass writers do, nested and flat", async (shape) => {
    const tensor = fp32(shape);
    expect(await tensorJsonText(tensor, true)).toBe(nestedJsonText(tensor));
    expect(await tensorJsonText(tensor, false)).toBe(flatJsonText(tensor));
  });

  it("keeps INT64 beyond 2^53 and BYTES exact across slices", async () => {
    const n = CHUNK_ELEMENTS * 2 + 3;
    const int64: Tensor = {
      datatype: "INT64",
      shape: [n],
      data: BigInt64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 2n ** 63n - 1n : BigInt(i))),
    };
    const text = await tensorJsonText(int64, false);
    expect(text).toBe(flatJsonText(int64));
    expect(text.startsWith("[9223372036854775807,1,9223372036854775807")).toBe(true);
    const bytes: Tensor = {
      datatype: "BYTES",
      shape: [n, 1],
      data: Array.from({ length: n }, (_, i) => new TextEncoder().encode(`s${i}\u0000`)),
    };
    expect(await tensorJsonText(bytes, true)).toBe(nestedJsonText(bytes));
  });

  it("lets the event loop run between slices of a large tensor, not for a small one", async () => {
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    await tensorJsonText(fp32([4, 4]), true);
    expect(ran).toBe(false);
    await tensorJsonText(fp32([CHUNK_ELEMENTS * 2, 1]), true);
    expect(ran).toBe(true);
  });
});
