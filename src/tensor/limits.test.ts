import { describe, expect, it } from "vitest";
import { tensorFromJsonData, tensorFromNested } from "./json-in.js";
import { checkOutputBytes, DEFAULT_LIMITS, DecodeBudget, RequestTooLargeError } from "./limits.js";
import { tensorFromRaw } from "./raw.js";

const limits = { ...DEFAULT_LIMITS, maxElements: 100, maxTensorBytes: 256, maxBytesElements: 10 };

describe("DecodeBudget", () => {
  it("charges every tensor of a request together against maxElements", () => {
    const budget = new DecodeBudget(limits);
    budget.claim("UINT8", [60]);
    expect(() => budget.claim("UINT8", [40])).not.toThrow();
    expect(() => budget.claim("UINT8", [1])).toThrow(RequestTooLargeError);
    expect(() => new DecodeBudget(limits).claim("UINT8", [101])).toThrow(
      /101 elements.*maxElements/,
    );
  });

  it("charges elements × datatype size against maxTensorBytes", () => {
    expect(() => new DecodeBudget(limits).claim("FP64", [32])).not.toThrow();
    expect(() => new DecodeBudget(limits).claim("FP64", [33])).toThrow(
      /264 tensor bytes.*maxTensorBytes/,
    );
  });

  it("counts BYTES elements against maxBytesElements and raw BYTES by their length", () => {
    expect(() => new DecodeBudget(limits).claim("BYTES", [10])).not.toThrow();
    expect(() => new DecodeBudget(limits).claim("BYTES", [11])).toThrow(/maxBytesElements/);
    expect(() => new DecodeBudget(limits).claim("BYTES", [1], 257)).toThrow(/maxTensorBytes/);
  });

  it("is PAYLOAD_TOO_LARGE (413)", () => {
    try {
      new DecodeBudget(limits).claim("FP32", [1000]);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(RequestTooLargeError);
      expect((err as RequestTooLargeError).code).toBe("PAYLOAD_TOO_LARGE");
      expect((err as RequestTooLargeError).status).toBe(413);
    }
  });

  it("is charged from the declared shape before the data is looked at", () => {
    // The data is nonsense: the budget must fail first, without building anything.
    const budget = new DecodeBudget(limits);
    expect(() => tensorFromJsonData("FP32", [1000000, 4], "not data", budget)).toThrow(
      /maxElements/,
    );
    expect(() => tensorFromRaw("FP32", [1000000, 4], new Uint8Array(0), budget)).toThrow(
      /maxElements/,
    );
    expect(() =>
      tensorFromNested(
        [
          ["a", "b"],
          ["c", "d"],
          ["e", "f"],
          ["g", "h"],
          ["i", "j"],
          ["k", "l"],
        ],
        "BYTES",
        new DecodeBudget(limits),
      ),
    ).toThrow(/maxBytesElements/);
  });
});

describe("checkOutputBytes", () => {
  it("refuses outputs over maxOutputBytes as the backend's error (502)", () => {
    const small = { ...DEFAULT_LIMITS, maxOutputBytes: 16 };
    const fp32 = { datatype: "FP32" as const, shape: [4], data: new Float32Array(4) };
    expect(() => checkOutputBytes([fp32], small)).not.toThrow();
    try {
      checkOutputBytes([fp32, fp32], small);
      expect.unreachable();
    } catch (err) {
      expect((err as { code: string }).code).toBe("BACKEND_ERROR");
      expect((err as Error).message).toMatch(/32 bytes.*maxOutputBytes/);
    }
  });

  it("counts empty rows of zero-element outputs, which still cost text", () => {
    const empty = { datatype: "FP32" as const, shape: [100, 0], data: new Float32Array(0) };
    expect(() => checkOutputBytes([empty], { ...DEFAULT_LIMITS, maxOutputBytes: 99 })).toThrow(
      /maxOutputBytes/,
    );
  });
});
