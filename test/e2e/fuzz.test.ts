/**
 * 1000 fuzzed request bodies (random JSON, wrong shapes, out-of-range numbers, deep nesting, huge
 * arrays, garbage bytes) against the unified and v2 REST fronts: every answer is a 4xx (or a 200
 * for the rare valid one), never a 5xx, and the gateway keeps answering.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./harness.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw.stop();
});

interface Case {
  path: string;
  body: string;
  headers?: Record<string, string>;
}

const SEED = 20261121;
const paths = [
  "/v1/predict",
  "/v1/models/iris/predict",
  "/v1/models/ops/versions/1/predict",
  "/v2/models/iris/infer",
];
const path = fc.constantFrom(...paths);

const randomJson = fc.record({ path, body: fc.jsonValue().map((v) => JSON.stringify(v)) });
const randomInputs = fc.record({
  path,
  body: fc
    .record({
      model: fc.constantFrom("iris", "ops", "nope"),
      inputs: fc.jsonValue(),
      outputs: fc.jsonValue(),
    })
    .map((v) => JSON.stringify(v)),
});
const nested = (dims: number[], value: () => unknown): unknown =>
  dims.length === 0
    ? value()
    : Array.from({ length: dims[0] ?? 0 }, () => nested(dims.slice(1), value));
const wrongShapes = fc.record({
  path: fc.constantFrom("/v1/models/iris/predict", "/v1/models/ops/predict"),
  body: fc
    .tuple(
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 4 }),
      fc.double({ noNaN: true }),
    )
    .map(([dims, x]) => JSON.stringify({ inputs: nested(dims, () => x) })),
});
const intTypes = [
  "UINT8",
  "INT8",
  "UINT16",
  "INT16",
  "UINT32",
  "INT32",
  "UINT64",
  "INT64",
  "BOOL",
] as const;
const outOfRange = fc.record({
  path: fc.constant("/v1/models/iris/predict"),
  body: fc
    .tuple(
      fc.constantFrom(...intTypes),
      fc.constantFrom(300, -1, 1.5, 1e20, -1e20, 70000, 2 ** 32, 2 ** 64),
    )
    .map(([datatype, v]) =>
      JSON.stringify({ inputs: { input: { datatype, shape: [1, 4], data: [v, v, v, v] } } }),
    ),
});
const outOfRangeV2 = fc
  .tuple(fc.constantFrom(...intTypes), fc.constantFrom(300, -1, 1.5, 1e20, 2 ** 64))
  .map(
    ([datatype, v]): Case => ({
      path: "/v2/models/iris/infer",
      body: JSON.stringify({
        inputs: [{ name: "input", datatype, shape: [1, 4], data: [v, v, v, v] }],
      }),
    }),
  );
const deepNesting = fc.integer({ min: 33, max: 200_000 }).map(
  (depth): Case => ({
    path: "/v1/models/iris/predict",
    body: `{"inputs":${"[".repeat(depth)}1${"]".repeat(depth)}}`,
  }),
);
const garbage = fc.record({ path, body: fc.string({ maxLength: 200 }) });
const v2Binary = fc
  .tuple(
    fc.integer({ min: -5, max: 500 }),
    fc.integer({ min: 0, max: 64 }),
    fc.integer({ min: 0, max: 64 }),
  )
  .map(([headerLength, declared, actual]): Case => {
    const json = JSON.stringify({
      inputs: [
        {
          name: "input",
          datatype: "FP32",
          shape: [1, 4],
          parameters: { binary_data_size: declared },
        },
      ],
    });
    return {
      path: "/v2/models/iris/infer",
      body: json + "x".repeat(actual),
      headers: { "inference-header-content-length": String(headerLength) },
    };
  });

function sample(arb: fc.Arbitrary<Case>, n: number, offset: number): Case[] {
  return fc.sample(arb, { seed: SEED + offset, numRuns: n });
}

const HUGE = 400_000;

describe("fuzzed request bodies", () => {
  it("answer 4xx, never 5xx, and the gateway keeps serving", async () => {
    const cases: Case[] = [
      ...sample(randomJson, 200, 1),
      ...sample(randomInputs, 200, 2),
      ...sample(wrongShapes, 150, 3),
      ...sample(outOfRange, 100, 4),
      ...sample(outOfRangeV2, 100, 5),
      ...sample(deepNesting, 50, 6),
      ...sample(garbage, 100, 7),
      ...sample(v2Binary, 95, 8),
      // huge arrays: a flat 400k-element input (wrong shape) and one past the body limit
      ...Array.from({ length: 3 }, () => ({
        path: "/v1/models/iris/predict",
        body: JSON.stringify({ inputs: new Array(HUGE).fill(0.5) }),
      })),
      ...Array.from({ length: 2 }, () => ({
        path: "/v1/models/iris/predict",
        body: `{"inputs":[${"1,".repeat(5_000_000)}1]}`,
      })),
    ];
    expect(cases).toHaveLength(1000);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const concurrency = 16;
    for (let i = 0; i < cases.length; i += concurrency) {
      await Promise.all(
        cases.slice(i, i + concurrency).map(async (c) => {
          const res = await fetch(gw.url + c.path, {
            method: "POST",
            headers: { "content-type": "application/json", ...c.headers },
            body: c.body,
          });
          const text = await res.text();
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          if (
            res.status >= 500 ||
            (res.status !== 200 && (res.status < 400 || !text.includes('"error"')))
          ) {
            failures.push(
              `${res.status} ${c.path} ${c.body.slice(0, 120)} -> ${text.slice(0, 200)}`,
            );
          }
        }),
      );
    }
    expect(failures).toEqual([]);
    expect(statuses.get(413)).toBe(2);
    const ok = await fetch(`${gw.url}/v1/models/iris/predict`, {
      method: "POST",
      body: JSON.stringify({ inputs: [[5.1, 3.5, 1.4, 0.2]] }),
    });
    expect(ok.status).toBe(200);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
