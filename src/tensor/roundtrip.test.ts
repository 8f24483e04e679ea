/**
 * Property-based round trips over every datatype: nested JSON -> tensor -> nested JSON,
 * tensor -> raw -> tensor, and concat -> split. Imports go through index.ts, the public surface.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bf16ToNumber,
  concatDim0,
  DATATYPES,
  type Datatype,
  elementCount,
  fp16ToNumber,
  INT64_RANGES,
  INTEGER_RANGES,
  splitDim0,
  tensorByteLength,
  tensorFromJsonData,
  tensorFromNested,
  tensorFromRaw,
  tensorToFlatJson,
  tensorToNested,
  tensorToRaw,
} from "./index.js";

/** JSON element values that a datatype represents exactly (so they come back unchanged). */
function jsonValue(datatype: Datatype): fc.Arbitrary<unknown> {
  switch (datatype) {
    case "BOOL":
      return fc.boolean();
    case "UINT8":
    case "UINT16":
    case "UINT32":
    case "INT8":
    case "INT16":
    case "INT32": {
      const [min, max] = INTEGER_RANGES[datatype];
      return fc.integer({ min, max });
    }
    case "UINT64":
      return fc.maxSafeNat();
    case "INT64":
      return fc.maxSafeInteger();
    case "FP16":
      return fc.integer({ min: 0, max: 0xffff }).map(fp16ToNumber);
    case "BF16":
      return fc.integer({ min: 0, max: 0xffff }).map(bf16ToNumber);
    case "FP32":
      return fc.float();
    case "FP64":
      return fc.double();
    case "BYTES":
      return fc.string({ unit: "binary", maxLength: 8 });
  }
}

const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 });

/** A datatype, a shape and flat JSON values filling it. */
const jsonTensorArb = fc
  .record({ datatype: fc.constantFrom(...DATATYPES), shape: shapeArb })
  .chain(({ datatype, shape }) =>
    fc
      .array(jsonValue(datatype), {
        minLength: elementCount(shape),
        maxLength: elementCount(shape),
      })
      .map((flat) => ({ datatype, shape, flat })),
  );

/** Builds nested arrays independently of the module under test. */
function nest(flat: readonly unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const [dim = 0, ...rest] = shape;
  const stride = elementCount(rest);
  return Array.from({ length: dim }, (_, i) =>
    nest(flat.slice(i * stride, (i + 1) * stride), rest),
  );
}

describe("round trips", () => {
  it("nested JSON -> tensor -> nested JSON, for every datatype", () => {
    fc.assert(
      fc.property(jsonTensorArb, ({ datatype, shape, flat }) => {
        const nested = nest(flat, shape);
        const tensor = tensorFromNested(nested, datatype);
        expect(tensor.datatype).toBe(datatype);
        // Nesting cannot show dimensions after a 0 ([] is shape [0], whatever was meant).
        const zero = shape.indexOf(0);
        expect(tensor.shape).toEqual(zero < 0 ? shape : shape.slice(0, zero + 1));
        expect(tensor.data.length).toBe(flat.length);
        expect(tensorToNested(tensor)).toEqual(nested);
        expect(tensorToFlatJson(tensorFromJsonData(datatype, shape, flat))).toEqual(flat);
      }),
      { numRuns: 500 },
    );
  });

  it("tensor -> raw -> tensor, for every datatype", () => {
    fc.assert(
      fc.property(jsonTensorArb, ({ datatype, shape, flat }) => {
        const tensor = tensorFromJsonData(datatype, shape, flat);
        const raw = tensorToRaw(tensor);
        expect(raw.byteLength).toBe(tensorByteLength(tensor));
        expect(tensorFromRaw(datatype, shape, raw)).toEqual(tensor);
      }),
      { numRuns: 500 },
    );
  });

  it("64-bit integers beyond 2^53 survive as decimal strings -> raw -> tensor", () => {
    const arb = fc.constantFrom("INT64" as const, "UINT64" as const).chain((datatype) => {
      const [min, max] = INT64_RANGES[datatype];
      return fc
        .array(fc.bigInt({ min, max }), { maxLength: 6 })
        .map((values) => ({ datatype, values }));
    });
    fc.assert(
      fc.property(arb, ({ datatype, values }) => {
        const expected =
          datatype === "INT64" ? BigInt64Array.from(values) : BigUint64Array.from(values);
        const tensor = tensorFromNested(values.map(String), datatype);
        expect(tensor.data).toEqual(expected);
        const back = tensorFromRaw(datatype, tensor.shape, tensorToRaw(tensor));
        expect(back.data).toEqual(expected);
      }),
    );
  });

  it("concat then split gives back the parts, for every datatype", () => {
    const arb = fc
      .record({
        datatype: fc.constantFrom(...DATATYPES),
        trailing: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
        rows: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
      })
      .chain(({ datatype, trailing, rows }) =>
        fc
          .tuple(
            ...rows.map((r) => {
              const n = r * elementCount(trailing);
              return fc.array(jsonValue(datatype), { minLength: n, maxLength: n });
            }),
          )
          .map((flats) =>
            flats.map((flat, i) => tensorFromJsonData(datatype, [rows[i] ?? 0, ...trailing], flat)),
          ),
      );
    fc.assert(
      fc.property(arb, (parts) => {
        const whole = concatDim0(parts);
        const sizes = parts.map((p) => p.shape[0] ?? 0);
        expect(whole.shape[0]).toBe(sizes.reduce((a, b) => a + b, 0));
        expect(splitDim0(whole, sizes)).toEqual(parts);
      }),
      { numRuns: 300 },
    );
  });
});
