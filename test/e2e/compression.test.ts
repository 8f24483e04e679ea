/**
 * Compressed bodies over real HTTP, as tritonclient sends them with
 * `request_compression_algorithm` / `response_compression_algorithm`: the whole binary-extension
 * body gzip- or deflate-compressed (Inference-Header-Content-Length counting the uncompressed
 * JSON), and `Accept-Encoding` for the answer. A bomb is refused at the body limit.
 */
import { deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localConfig, startTestGateway, type TestGateway } from "./harness.js";
import { kserveClient } from "./kserve-client.js";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway(
    localConfig().replace("  grpcPort: 0\n", "  grpcPort: 0\n  bodyLimitBytes: 1048576\n"),
  );
});
afterAll(async () => {
  await gw?.stop();
});

const ROWS = 64;
const rows = Array.from({ length: ROWS }, (_, i) => [
  4.5 + (i % 30) / 10,
  3.1,
  1.2 + (i % 50) / 10,
  0.2 + (i % 20) / 10,
]);

/** A v2 binary-extension request: JSON header + the FP32 rows little-endian. */
async function binaryBody(): Promise<{ body: Buffer; jsonLength: number }> {
  const meta = (await (await fetch(`${gw.url}/v2/models/iris`)).json()) as {
    inputs: Array<{ name: string }>;
  };
  const name = meta.inputs[0]?.name ?? "";
  const head = Buffer.from(
    JSON.stringify({
      inputs: [
        { name, shape: [ROWS, 4], datatype: "FP32", parameters: { binary_data_size: ROWS * 16 } },
      ],
    }),
  );
  const data = Buffer.alloc(ROWS * 16);
  rows.flat().forEach((v, i) => {
    data.writeFloatLE(v, i * 4);
  });
  return { body: Buffer.concat([head, data]), jsonLength: head.length };
}

async function post(path: string, body: Buffer, headers: Record<string, string>) {
  const res = await request(`${gw.url}${path}`, { method: "POST", body, headers });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, bytes };
}

describe("compressed request and response bodies", () => {
  it("answers a gzip-compressed binary v2 request exactly as the plain one, gzip-compressed when asked", async () => {
    const { body, jsonLength } = await binaryBody();
    const base = { "inference-header-content-length": String(jsonLength) };
    const plain = await post("/v2/models/iris/infer", body, base);
    expect(plain.status).toBe(200);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    const compressed = await post("/v2/models/iris/infer", gzipSync(body), {
      ...base,
      "content-encoding": "gzip",
      "accept-encoding": "gzip",
    });
    expect(compressed.status).toBe(200);
    expect(compressed.headers["content-encoding"]).toBe("gzip");
    expect(compressed.bytes.length).toBeLessThan(plain.bytes.length);
    const answer = JSON.parse(gunzipSync(compressed.bytes).toString()) as { outputs: unknown[] };
    expect(answer.outputs).toEqual(
      (JSON.parse(plain.bytes.toString()) as { outputs: unknown[] }).outputs,
    );
    expect(answer.outputs.length).toBeGreaterThan(0);
  });

  it("takes a deflate body on the unified API and answers deflate when that is preferred", async () => {
    const json = Buffer.from(JSON.stringify({ inputs: rows }));
    const plain = await post("/v1/models/iris/predict", json, {
      "content-type": "application/json",
    });
    const res = await post("/v1/models/iris/predict", deflateSync(json), {
      "content-type": "application/json",
      "content-encoding": "deflate",
      "accept-encoding": "gzip;q=0.5, deflate",
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("deflate");
    expect(res.headers.vary).toBe("accept-encoding");
    expect(JSON.parse(inflateSync(res.bytes).toString())).toEqual(
      JSON.parse(plain.bytes.toString()),
    );
  });

  it("refuses a gzip bomb with 413 PAYLOAD_TOO_LARGE and corrupt data with 400, then serves on", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20));
    const big = await post("/v1/models/iris/predict", bomb, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.bytes.toString())).toMatchObject({
      error: { code: "PAYLOAD_TOO_LARGE" },
    });
    const corrupt = await post("/v1/models/iris/predict", Buffer.from('{"inputs": [[1,2,3,4]]}'), {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
    expect(corrupt.status).toBe(400);
    expect(JSON.parse(corrupt.bytes.toString())).toMatchObject({
      error: { code: "INVALID_REQUEST" },
    });
    const ok = await post(
      "/v1/models/iris/predict",
      Buffer.from(JSON.stringify({ inputs: [rows[0]] })),
      {
        "content-type": "application/json",
      },
    );
    expect(ok.status).toBe(200);
  });
});

describe("compressed gRPC messages", () => {
  it.each([
    ["gzip", 2],
    ["deflate", 1],
  ])("answers a %s-compressed ModelInfer exactly as a plain one", async (_name, algorithm) => {
    const plain = kserveClient(gw.grpcAddress);
    const compressed = kserveClient(gw.grpcAddress, {
      "grpc.default_compression_algorithm": algorithm,
    });
    try {
      const request = {
        model_name: "iris",
        inputs: [
          {
            name: "input",
            datatype: "FP32",
            shape: [ROWS, 4],
            contents: { fp32_contents: rows.flat() },
          },
        ],
      };
      const expected = await plain.call("ModelInfer", request);
      const answer = await compressed.call("ModelInfer", request);
      expect(answer.outputs).toEqual(expected.outputs);
      expect((answer.outputs as unknown[]).length).toBeGreaterThan(0);
    } finally {
      plain.close();
      compressed.close();
    }
  });
});
