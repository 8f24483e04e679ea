/**
 * The same iris request through every front — unified /v1/predict, KServe v2 REST (JSON and binary
 * tensors) and KServe v2 gRPC (typed and raw contents) — must give the same numbers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

// One typical flower of each species (setosa, versicolor, virginica).
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
];
const FLAT = ROWS.flat();

let gw: TestGateway;
let unified: number[][];

beforeAll(async () => {
  gw = await startTestGateway();
  const res = await postJson(`${gw.url}/v1/predict`, { model: "iris", inputs: ROWS });
  expect(res.status).toBe(200);
  const body = res.body as { outputs: { probabilities: number[][]; label: number[] } };
  unified = body.outputs.probabilities;
});
afterAll(async () => {
  await gw.stop();
});

function expectSame(probabilities: number[], label = "") {
  expect(probabilities, label).toHaveLength(9);
  probabilities.forEach((p, i) => {
    expect(Math.abs(p - (unified.flat()[i] ?? Number.NaN)), `${label} [${i}]`).toBeLessThanOrEqual(
      1e-6,
    );
  });
}

function float32Le(values: number[]): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    buf.writeFloatLE(v, i * 4);
  });
  return buf;
}

function readFloat32Le(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = 0; i + 4 <= buf.length; i += 4) out.push(buf.readFloatLE(i));
  return out;
}

describe("iris through every front", () => {
  it("unified API classifies one flower of each species correctly", async () => {
    expect(unified).toHaveLength(3);
    const argmax = unified.map((row) => row.indexOf(Math.max(...row)));
    expect(argmax).toEqual([0, 1, 2]);
    for (const row of unified) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it("v2 REST with JSON tensors gives the same numbers", async () => {
    const res = await postJson(`${gw.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", datatype: "FP32", shape: [3, 4], data: FLAT }],
      outputs: [{ name: "probabilities" }],
    });
    expect(res.status).toBe(200);
    const body = res.body as {
      model_name: string;
      model_version: string;
      outputs: Array<{ name: string; shape: number[]; data: number[] }>;
    };
    expect(body.model_name).toBe("iris");
    expect(body.model_version).toBe("1");
    expect(body.outputs.map((o) => o.name)).toEqual(["probabilities"]);
    expect(body.outputs[0]?.shape).toEqual([3, 3]);
    expectSame(body.outputs[0]?.data ?? [], "v2 json");
  });

  it("v2 REST with binary tensors in and out gives the same numbers", async () => {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "input", datatype: "FP32", shape: [3, 4], parameters: { binary_data_size: 48 } },
        ],
        outputs: [{ name: "probabilities", parameters: { binary_data: true } }],
      }),
    );
    const res = await fetch(`${gw.url}/v2/models/iris/versions/1/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(header.length),
      },
      body: Buffer.concat([header, float32Le(FLAT)]),
    });
    expect(res.status).toBe(200);
    const jsonLength = Number(res.headers.get("inference-header-content-length"));
    const raw = Buffer.from(await res.arrayBuffer());
    const json = JSON.parse(raw.subarray(0, jsonLength).toString("utf8")) as {
      outputs: Array<{ name: string; shape: number[]; parameters: { binary_data_size: number } }>;
    };
    expect(json.outputs[0]?.parameters.binary_data_size).toBe(36);
    expectSame(readFloat32Le(raw.subarray(jsonLength)), "v2 binary");
  });

  it("v2 gRPC with typed contents gives the same numbers", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const res = await client.call("ModelInfer", {
        model_name: "iris",
        inputs: [
          { name: "input", datatype: "FP32", shape: [3, 4], contents: { fp32_contents: FLAT } },
        ],
        outputs: [{ name: "probabilities" }],
      });
      const outputs = res.outputs as Array<{ name: string; shape: string[] }>;
      expect(res.model_name).toBe("iris");
      expect(outputs[0]?.shape.map(Number)).toEqual([3, 3]);
      // Answered raw whatever the request used, as Triton does.
      const raw = res.raw_output_contents as Buffer[];
      expectSame(readFloat32Le(raw[0] ?? Buffer.alloc(0)), "grpc typed");
    } finally {
      client.close();
    }
  });

  it("v2 gRPC with raw contents answers with raw contents and the same numbers", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const res = await client.call("ModelInfer", {
        model_name: "iris",
        model_version: "1",
        inputs: [{ name: "input", datatype: "FP32", shape: [3, 4] }],
        outputs: [{ name: "probabilities" }],
        raw_input_contents: [float32Le(FLAT)],
      });
      const raw = res.raw_output_contents as Buffer[];
      expect(raw).toHaveLength(1);
      expectSame(readFloat32Le(raw[0] ?? Buffer.alloc(0)), "grpc raw");
    } finally {
      client.close();
    }
  });
});
