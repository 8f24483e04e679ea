import { describe, expect, it } from "vitest";
import { countTopLevel } from "./grpc-guard.js";
import { checkJsonStructure, MAX_JSON_STRUCTURE } from "./json-guard.js";

/** A length-delimited protobuf field. */
const field = (n: number, bytes: number[]) => [n * 8 + 2, bytes.length, ...bytes];

describe("countTopLevel", () => {
  it("counts the top-level entries of the fields asked for, skipping every wire type", () => {
    const message = Uint8Array.from([
      ...field(1, [0x61]),
      ...field(5, [0x0a, 0x01, 0x61]),
      0x10,
      0x96,
      0x01, // field 2, varint 150
      ...field(5, []),
      0x1d,
      1,
      2,
      3,
      4, // field 3, fixed32
      0x21,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 4, fixed64
      ...field(6, [0, 0, 0, 0]),
    ]);
    expect(countTopLevel(message, new Set([5]), 10)).toBe(2);
    expect(countTopLevel(message, new Set([5, 6]), 10)).toBe(3);
    // Stops once past the bound.
    expect(countTopLevel(message, new Set([5, 6]), 1)).toBe(2);
  });

  it("throws on a truncated message", () => {
    expect(() => countTopLevel(Uint8Array.from([0x2a, 0x05, 1]), new Set([5]), 10)).toThrow(
      /past the end/,
    );
    expect(() => countTopLevel(Uint8Array.from([0x10, 0x80]), new Set([5]), 10)).toThrow(
      /truncated/,
    );
  });
});

describe("checkJsonStructure", () => {
  const text = (s: string) => Buffer.from(s);
  const entries = (n: number) =>
    `{${Array.from({ length: n }, (_, i) => `"o${i}":[0]`).join(",")}}`;

  it("lets answers with few objects and keys through, whatever their data", () => {
    expect(() => checkJsonStructure("b", text(entries(1000)))).not.toThrow();
    expect(() => checkJsonStructure("b", text(`{"a":[${"1,".repeat(100_000)}1]}`))).not.toThrow();
  });

  it("refuses one with more objects and keys than the bound", () => {
    expect(() => checkJsonStructure("b", text(entries(MAX_JSON_STRUCTURE)))).toThrow(
      /more than 16384 objects and keys/,
    );
    expect(() => checkJsonStructure("b", text(`[${"{},".repeat(MAX_JSON_STRUCTURE)}{}]`))).toThrow(
      expect.objectContaining({ code: "BACKEND_ERROR" }),
    );
  });

  it("does not count braces and colons inside strings, escaped quotes included", () => {
    const strings = `{"s":[${Array.from({ length: 20_000 }, () => '"{:\\"{:"').join(",")}]}`;
    expect(() => checkJsonStructure("b", text(strings))).not.toThrow();
    expect(() => checkJsonStructure("b", text(entries(10)), 5)).toThrow();
  });
});
