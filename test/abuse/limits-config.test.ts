/**
 * `server.limits` are read from the config snapshot in force: a gateway started with small limits
 * applies them on `/v1`, KServe v2 REST (JSON and binary) and gRPC, and a reload that raises them
 * takes effect for the next request.
 */
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MODELS_DIR, postJson, startTestGateway, type TestGateway } from "../e2e/harness.js";
import { kserveClient } from "../e2e/kserve-client.js";

function config(maxElements: number): string {
  return `server:
  host: 127.0.0.1
  port: 0
  grpcPort: 0
  limits: { maxElements: ${maxElements}, maxJsonDepth: 8 }
backends:
  local: { type: onnx, modelDir: ${MODELS_DIR} }
models:
  iris: { versions: { "1": { backend: local, model: iris } } }
`;
}

const rows = (n: number) => Array.from({ length: n }, () => [5.1, 3.5, 1.4, 0.2]);

describe("server.limits from the current config", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(config(8));
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("applies maxElements and maxJsonDepth on /v1 and v2 JSON", async () => {
    expect((await postJson(`${gw.url}/v1/models/iris/predict`, { inputs: rows(2) })).status).toBe(
      200,
    );
    const v1 = await postJson(`${gw.url}/v1/models/iris/predict`, { inputs: rows(3) });
    expect(v1.status).toBe(413);
    expect(v1.body).toMatchObject({ error: { code: "PAYLOAD_TOO_LARGE" } });
    const v2 = await postJson(`${gw.url}/v2/models/iris/infer`, {
      inputs: [{ name: "input", datatype: "FP32", shape: [3, 4], data: rows(3).flat() }],
    });
    expect(v2.status).toBe(413);
    expect(v2.body).toMatchObject({ error: expect.stringMatching(/maxElements/) });
    const deep = await postJson(
      `${gw.url}/v1/models/iris/predict`,
      `{"inputs":[[[[[[[[[1]]]]]]]]]}`,
    );
    expect(deep.status).toBe(400);
    expect(deep.body).toMatchObject({ error: { message: expect.stringMatching(/deeper than 8/) } });
  });

  it("applies maxElements to v2 binary bodies by their declared shape", async () => {
    const json = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: "input", datatype: "FP32", shape: [3, 4], parameters: { binary_data_size: 48 } },
        ],
      }),
    );
    const res = await fetch(`${gw.url}/v2/models/iris/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "inference-header-content-length": String(json.byteLength),
      },
      body: Buffer.concat([json, Buffer.alloc(48)]),
    });
    expect(res.status).toBe(413);
  });

  it("applies maxElements on the gRPC front (RESOURCE_EXHAUSTED)", async () => {
    const client = kserveClient(gw.grpcAddress);
    try {
      const call = client.call("ModelInfer", {
        model_name: "iris",
        inputs: [{ name: "input", datatype: "FP32", shape: [3, 4] }],
        raw_input_contents: [Buffer.alloc(48)],
      });
      await expect(call).rejects.toMatchObject({
        code: 8,
        details: expect.stringMatching(/maxElements/),
      });
    } finally {
      client.close();
    }
  });

  it("takes a reload's new limits for the next request", async () => {
    writeFileSync(gw.configPath, config(1000));
    expect((await postJson(`${gw.url}/admin/reload`, {})).status).toBe(200);
    expect((await postJson(`${gw.url}/v1/models/iris/predict`, { inputs: rows(3) })).status).toBe(
      200,
    );
  });
});
