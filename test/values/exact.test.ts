/**
 * Exact values end to end through a real gateway on the shipped ONNX echo models: 64-bit integers
 * at every edge over `/v1` and KServe v2 JSON (in and out, written as raw text so no JSON.parse
 * rounds them on the way), FP32 NaN/±Infinity as Triton writes them, and BYTES that onnxruntime
 * cannot hold refused with a 400 (docs/tensors.md).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJsonExact } from "../../src/tensor/index.js";
import { localConfig, startTestGateway, type TestGateway } from "../e2e/harness.js";

const echo = (dt: string) => `  echo_${dt}:
    versions:
      "1": { backend: local, model: echo_${dt} }
`;

const INT64_EDGES = [
  "-9223372036854775808",
  "-9223372036854775807",
  "-9007199254740993",
  "-9007199254740992",
  "-1",
  "0",
  "9007199254740991",
  "9007199254740992",
  "9007199254740993",
  "9223372036854775806",
  "9223372036854775807",
];
const UINT64_EDGES = [
  "0",
  "1",
  "9007199254740993",
  "9223372036854775807",
  "9223372036854775808",
  "18446744073709551614",
  "18446744073709551615",
];

async function post(url: string, text: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: text,
  });
  return { status: res.status, text: await res.text() };
}

/** The parsed answer with 64-bit integers as bigints (JSON.parse would round them). */
function exact(text: string): unknown {
  return parseJsonExact(text).value;
}

/** The digits as they must come back: bigints beyond 2^53, numbers within. */
function expected(digits: readonly string[]): unknown[] {
  return digits.map((d) => {
    const n = Number(d);
    return Number.isSafeInteger(n) ? n : BigInt(d);
  });
}

describe("exact values through the gateway", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(
      localConfig(["int64", "uint64", "fp32", "fp64", "bytes"].map(echo).join("")),
    );
  });
  afterAll(async () => {
    await gw?.stop();
  });

  for (const [dt, digits] of [
    ["int64", INT64_EDGES],
    ["uint64", UINT64_EDGES],
  ] as const) {
    it(`/v1: echo_${dt} returns every edge value digit for digit`, async () => {
      const body = `{"inputs": {"x": [[${digits.join(",")}]]}}`;
      const res = await post(`${gw.url}/v1/models/echo_${dt}/predict`, body);
      expect(res.status, res.text).toBe(200);
      expect(res.text).toContain(`[[${digits.join(",")}]]`);
      expect(exact(res.text)).toMatchObject({ outputs: { y: [expected(digits)] } });
    });

    it(`v2 JSON: echo_${dt} returns every edge value digit for digit`, async () => {
      const datatype = dt.toUpperCase();
      const body = `{"inputs":[{"name":"x","datatype":"${datatype}","shape":[1,${digits.length}],"data":[${digits.join(",")}]}]}`;
      const res = await post(`${gw.url}/v2/models/echo_${dt}/infer`, body);
      expect(res.status, res.text).toBe(200);
      expect(res.text).toContain(`"data":[${digits.join(",")}]`);
    });
  }

  it("/v1 explicit form: INT64 max and min round-trip", async () => {
    const body =
      '{"inputs":{"x":{"datatype":"INT64","shape":[1,2],"data":[9223372036854775807,-9223372036854775808]}}}';
    const res = await post(`${gw.url}/v1/models/echo_int64/predict`, body);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain("[[9223372036854775807,-9223372036854775808]]");
  });

  it("one past INT64 max and UINT64 max, and -1 for UINT64, are a 400 naming the range", async () => {
    for (const [dt, value] of [
      ["int64", "9223372036854775808"],
      ["int64", "-9223372036854775809"],
      ["uint64", "18446744073709551616"],
      ["uint64", "-1"],
    ] as const) {
      const res = await post(`${gw.url}/v1/models/echo_${dt}/predict`, `{"inputs":[[${value}]]}`);
      expect(res.status, `${dt} ${value}`).toBe(400);
      expect(res.text).toMatch(/INVALID_REQUEST.*integer or decimal string in/);
    }
  });

  it("FP32 NaN and ±Infinity come back as NaN / Infinity / -Infinity tokens (v2 and /v1)", async () => {
    const v2 =
      '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[NaN,Infinity,-Infinity,1.5]}]}';
    const res = await post(`${gw.url}/v2/models/echo_fp32/infer`, v2);
    expect(res.status, res.text).toBe(200);
    expect(res.text).toContain('"data":[NaN,Infinity,-Infinity,1.5]');
    const v1 = await post(`${gw.url}/v1/models/echo_fp64/predict`, '{"inputs":[[-Infinity, 0.1]]}');
    expect(v1.status, v1.text).toBe(200);
    expect(v1.text).toContain('"y":[[-Infinity,0.1]]');
  });

  it("finite answers stay plain JSON", async () => {
    const res = await post(`${gw.url}/v1/models/echo_fp32/predict`, '{"inputs":[[1.5, -2]]}');
    expect(JSON.parse(res.text)).toMatchObject({ outputs: { y: [[1.5, -2]] } });
  });

  it("BYTES with a NUL byte are a 400 on the ONNX backend, never a cut string", async () => {
    for (const url of [`${gw.url}/v1/models/echo_bytes/predict`]) {
      const res = await post(url, '{"inputs":[["he\\u0000llo"]]}');
      expect(res.status, res.text).toBe(400);
      expect(res.text).toMatch(/NUL byte/);
    }
    const v2 = await post(
      `${gw.url}/v2/models/echo_bytes/infer`,
      '{"inputs":[{"name":"x","datatype":"BYTES","shape":[1,1],"data":["\\u0000\\u0001\\u0002\\u0003"]}]}',
    );
    expect(v2.status, v2.text).toBe(400);
    expect(v2.text).toMatch(/NUL byte/);
  });

  it("BYTES with unicode, quotes and backslashes round-trip through JSON", async () => {
    const values = ["ünïcödé", 'a "quote"', "back\\slash", "emoji 🚀", ""];
    const res = await post(
      `${gw.url}/v1/models/echo_bytes/predict`,
      JSON.stringify({ inputs: [values] }),
    );
    expect(res.status, res.text).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ outputs: { y: [values] } });
  });
});
