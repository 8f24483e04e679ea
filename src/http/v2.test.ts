import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  data?: unknown[];
  parameters?: { binary_data_size?: number };
}

interface V2Response {
  model_name: string;
  model_version: string;
  id?: string;
  outputs: V2Output[];
}

async function v2Error(res: Response): Promise<string> {
  const body = (await res.json()) as { error: unknown };
  expect(typeof body.error).toBe("string");
  return body.error as string;
}

describe("KServe v2 REST: health and metadata", () => {
  it("answers live, ready and not ready by status", async () => {
    const { app, service } = testApp();
    const live = await app.request("/v2/health/live");
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ live: true });
    const ready = await app.request("/v2/health/ready");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
    service.readinessState = { ready: false, reasons: ["iris: no target reachable"] };
    const notReady = await app.request("/v2/health/ready");
    expect(notReady.status).toBe(400);
    expect(await notReady.json()).toEqual({ ready: false });
  });

  it("serves server metadata", async () => {
    const { app } = testApp();
    const res = await app.request("/v2");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: "infergate",
      version: "0.1.0",
      extensions: ["binary_tensor_data"],
    });
  });

  it("serves model metadata with and without a version, by version id or label", async () => {
    const { app } = testApp();
    const expected = {
      name: "iris",
      versions: ["1", "2"],
      platform: "fake",
      inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
      outputs: [
        { name: "probabilities", datatype: "FP32", shape: [-1, 3] },
        { name: "rowsum", datatype: "FP32", shape: [-1] },
      ],
    };
    for (const path of [
      "/v2/models/iris",
      "/v2/models/iris/versions/2",
      "/v2/models/iris/versions/canary",
    ]) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(expected);
    }
  });

  it("answers unknown models and versions with 404 and Triton's wording", async () => {
    const { app } = testApp();
    const model = await app.request("/v2/models/nope");
    expect(model.status).toBe(404);
    expect(await v2Error(model)).toBe("Request for unknown model: 'nope' is not found");
    const version = await app.request("/v2/models/iris/versions/9/ready");
    expect(version.status).toBe(404);
    expect(await v2Error(version)).toBe("Request for unknown model: 'iris' version 9 is not found");
  });

  it("answers model readiness 200 when ready and 400 when not", async () => {
    const { app, service } = testApp();
    expect((await app.request("/v2/models/iris/ready")).status).toBe(200);
    expect((await app.request("/v2/models/iris/versions/1/ready")).status).toBe(200);
    service.notReady.add("iris");
    expect((await app.request("/v2/models/iris/ready")).status).toBe(400);
    expect((await app.request("/v2/models/nope/ready")).status).toBe(404);
  });
});

describe("KServe v2 REST: JSON infer", () => {
  it("runs flat and nested data and answers v2 JSON with the prediction headers", async () => {
    const { app, service } = testApp();
    const res = await postJson(
      app,
      "/v2/models/iris/infer",
      {
        id: "q-1",
        inputs: [
          { name: "features", shape: [2, 4], datatype: "FP32", data: [1, 2, 3, 4, 5, 6, 7, 8] },
        ],
      },
      { "x-request-id": "v2-req" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
    expect(res.headers.get("inference-header-content-length")).toBeNull();
    expect(res.headers.get("x-request-id")).toBe("v2-req");
    expect(res.headers.get("x-infergate-version")).toBe("1");
    expect(res.headers.get("x-infergate-backend")).toBe("local");
    expect(await res.json()).toEqual({
      model_name: "iris",
      model_version: "1",
      id: "q-1",
      outputs: [
        {
          name: "probabilities",
          datatype: "FP32",
          shape: [2, 3],
          data: [0.5, 0.25, 0.25, 0.5, 0.25, 0.25],
        },
        { name: "rowsum", datatype: "FP32", shape: [2], data: [10, 26] },
      ],
    });
    expect(service.calls[0]?.request.id).toBe("q-1");
    const nested = await postJson(app, "/v2/models/iris/versions/2/infer", {
      inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [[1, 1, 1, 1]] }],
      outputs: [{ name: "rowsum" }],
    });
    expect(nested.status).toBe(200);
    expect(await nested.json()).toEqual({
      model_name: "iris",
      model_version: "2",
      outputs: [{ name: "rowsum", datatype: "FP32", shape: [1], data: [4] }],
    });
    expect(service.calls[1]?.request.outputs).toEqual(["rowsum"]);
  });

  it("runs INT64 and BYTES in JSON", async () => {
    const { app } = testApp();
    const sum = await postJson(app, "/v2/models/double/infer", {
      inputs: [
        { name: "a", shape: [2], datatype: "INT64", data: [1, 2] },
        { name: "b", shape: [2], datatype: "INT64", data: [10, 20] },
      ],
    });
    expect(((await sum.json()) as V2Response).outputs).toEqual([
      { name: "sum", datatype: "INT64", shape: [2], data: [11, 22] },
    ]);
    const echo = await postJson(app, "/v2/models/echo/infer", {
      inputs: [{ name: "text", shape: [2], datatype: "BYTES", data: ["héllo", "x"] }],
    });
    expect(((await echo.json()) as V2Response).outputs).toEqual([
      { name: "text", datatype: "BYTES", shape: [2], data: ["héllo", "x"] },
    ]);
  });

  const invalid: [string, unknown, RegExp][] = [
    [
      "FP16 in JSON",
      { inputs: [{ name: "x", shape: [1], datatype: "FP16", data: [1] }] },
      /FP16.*JSON/,
    ],
    [
      "BF16 in JSON",
      { inputs: [{ name: "x", shape: [1], datatype: "BF16", data: [1] }] },
      /BF16.*JSON/,
    ],
    [
      "an invalid datatype",
      { inputs: [{ name: "x", shape: [1], datatype: "FLOAT", data: [1] }] },
      /invalid datatype/,
    ],
    [
      "a shape that does not match the data",
      { inputs: [{ name: "x", shape: [3], datatype: "FP16", data: [1] }] },
      /x/,
    ],
    ["no inputs", { inputs: [] }, /"inputs"/],
    [
      "an input without data",
      { inputs: [{ name: "x", shape: [1], datatype: "FP32" }] },
      /exactly one of/,
    ],
    [
      "a negative shape",
      { inputs: [{ name: "x", shape: [-1], datatype: "FP32", data: [1] }] },
      /shape/,
    ],
    [
      "duplicate inputs",
      {
        inputs: [
          { name: "x", shape: [1], datatype: "FP32", data: [1] },
          { name: "x", shape: [1], datatype: "FP32", data: [1] },
        ],
      },
      /twice/,
    ],
    [
      "a non-boolean binary_data",
      {
        inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }],
        outputs: [{ name: "y", parameters: { binary_data: "yes" } }],
      },
      /binary_data/,
    ],
  ];
  for (const [what, body, message] of invalid) {
    it(`rejects ${what} with 400 and a v2 error`, async () => {
      const { app, service } = testApp();
      const res = await postJson(app, "/v2/models/half/infer", body);
      expect(res.status).toBe(400);
      expect(await v2Error(res)).toMatch(message);
      expect(service.calls).toHaveLength(0);
    });
  }

  it("rejects a data count that does not match the shape", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/v2/models/iris/infer", {
      inputs: [{ name: "features", shape: [2, 4], datatype: "FP32", data: [1, 2, 3, 4] }],
    });
    expect(res.status).toBe(400);
    expect(await v2Error(res)).toMatch(/features/);
  });

  it("rejects malformed JSON with 400", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/v2/models/iris/infer", "{nope");
    expect(res.status).toBe(400);
    expect(await v2Error(res)).toMatch(/malformed JSON/);
  });

  it("maps service errors to the documented status with a v2 body and Retry-After", async () => {
    const { app, logged } = testApp();
    const body = { inputs: [{ name: "x", shape: [1], datatype: "FP32", data: [1] }] };
    const overloaded = await postJson(app, "/v2/models/fail/versions/overloaded/infer", body);
    expect(overloaded.status).toBe(503);
    expect(overloaded.headers.get("retry-after")).toBe("2");
    expect(await overloaded.json()).toEqual({ error: "queue full" });
    const timeout = await postJson(app, "/v2/models/fail/versions/timeout/infer", body);
    expect(timeout.status).toBe(504);
    const crash = await postJson(app, "/v2/models/fail/versions/crash/infer", body);
    expect(crash.status).toBe(500);
    expect(await crash.json()).toEqual({ error: "internal error" });
    expect(logged).toHaveLength(1);
  });
});
