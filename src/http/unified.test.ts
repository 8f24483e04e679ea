import { describe, expect, it } from "vitest";
import { postJson, testApp } from "../../test/support/http-app.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe("unified predict: request forms", () => {
  it("answers a bare nested-array tensor with outputs of their real shape and every header", async () => {
    const { app, service } = testApp();
    const res = await postJson(app, "/v1/predict", {
      model: "iris",
      inputs: [
        [1, 2, 3, 4],
        [0.5, 0.5, 0.5, 0.5],
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      model: "iris",
      version: "1",
      outputs: {
        probabilities: [
          [0.5, 0.25, 0.25],
          [0.5, 0.25, 0.25],
        ],
        rowsum: [10, 2],
      },
    });
    expect(res.headers.get("x-request-id")).toMatch(UUID);
    expect(res.headers.get("x-infergate-version")).toBe("1");
    expect(res.headers.get("x-infergate-backend")).toBe("local");
    expect(res.headers.get("x-infergate-cache")).toBe("miss");
    expect(res.headers.get("x-infergate-fallback")).toBeNull();
    const call = service.calls[0];
    expect(call?.request.inputs).toHaveLength(1);
    expect(call?.request.inputs[0]?.name).toBe("features");
    expect(call?.request.inputs[0]?.datatype).toBe("FP32");
    expect(call?.request.inputs[0]?.shape).toEqual([2, 4]);
    expect(call?.request.id).toBeUndefined();
    expect(call?.context.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("takes an inputs object, echoes id and honours the outputs list", async () => {
    const { app, service } = testApp();
    const res = await postJson(app, "/v1/models/iris/predict", {
      id: "req-17",
      inputs: { features: [[1, 1, 1, 1]] },
      outputs: ["rowsum"],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      id: "req-17",
      model: "iris",
      version: "1",
      outputs: { rowsum: [4] },
    });
    expect(service.calls[0]?.request.outputs).toEqual(["rowsum"]);
    expect(service.calls[0]?.request.id).toBe("req-17");
  });

  it("takes an explicit tensor, bare or inside an inputs object, with flat or nested data", async () => {
    const { app } = testApp();
    const bare = await postJson(app, "/v1/models/iris/predict", {
      inputs: { datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] },
    });
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as { outputs: unknown }).outputs).toMatchObject({ rowsum: [10] });
    const named = await postJson(app, "/v1/models/iris/predict", {
      inputs: {
        features: {
          datatype: "FP32",
          shape: [2, 4],
          data: [
            [1, 2, 3, 4],
            [2, 2, 2, 2],
          ],
        },
      },
    });
    expect(named.status).toBe(200);
    expect(((await named.json()) as { outputs: unknown }).outputs).toMatchObject({
      rowsum: [10, 8],
    });
  });

  it("takes the datatype of nested arrays from the model metadata (INT64 for a two-input model)", async () => {
    const { app, service } = testApp();
    const res = await postJson(app, "/v1/predict", {
      model: "double",
      inputs: { a: [1, 2], b: [10, 20] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ model: "double", version: "1", outputs: { sum: [11, 22] } });
    expect(service.calls[0]?.request.inputs.map((t) => t.datatype)).toEqual(["INT64", "INT64"]);
  });

  it("treats an object whose keys are all input names as an inputs object, even {data: ...}", async () => {
    const { app } = testApp();
    const asInputs = await postJson(app, "/v1/models/named/predict", { inputs: { data: [1, 2] } });
    expect(asInputs.status).toBe(200);
    expect(((await asInputs.json()) as { outputs: unknown }).outputs).toEqual({ out: [1, 2] });
    const asTensor = await postJson(app, "/v1/models/named/predict", {
      inputs: { datatype: "FP32", data: [3, 4] },
    });
    expect(asTensor.status).toBe(200);
    expect(((await asTensor.json()) as { outputs: unknown }).outputs).toEqual({ out: [3, 4] });
  });
});

describe("unified predict: model and version selection", () => {
  it("lets the path model and version win over the body", async () => {
    const { app, service } = testApp();
    const res = await postJson(app, "/v1/models/iris/versions/2/predict", {
      model: "double",
      version: "1",
      inputs: [[1, 2, 3, 4]],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; version: string };
    expect([body.model, body.version]).toEqual(["iris", "2"]);
    expect(res.headers.get("x-infergate-version")).toBe("2");
    expect(res.headers.get("x-infergate-backend")).toBe("tfs");
    expect(res.headers.get("x-infergate-fallback")).toBe("true");
    expect(service.calls[0]?.route).toEqual({ model: "iris", version: "2", backend: "tfs" });
  });

  it("accepts a label as the version", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/v1/predict", {
      model: "iris",
      version: "canary",
      inputs: [[1, 2, 3, 4]],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-infergate-version")).toBe("2");
  });

  it("pins the version with the x-infergate-version header unless the body or path names one", async () => {
    const { app } = testApp();
    const pinned = await postJson(
      app,
      "/v1/models/iris/predict",
      { inputs: [[1, 2, 3, 4]] },
      { "x-infergate-version": "2" },
    );
    expect(pinned.status).toBe(200);
    expect(((await pinned.json()) as { version: string }).version).toBe("2");
    const bodyWins = await postJson(
      app,
      "/v1/models/iris/predict",
      { version: "stable", inputs: [[1, 2, 3, 4]] },
      { "x-infergate-version": "2" },
    );
    expect(((await bodyWins.json()) as { version: string }).version).toBe("1");
    const unknown = await postJson(
      app,
      "/v1/models/iris/predict",
      { inputs: [[1, 2, 3, 4]] },
      { "x-infergate-version": "7" },
    );
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("VERSION_NOT_FOUND");
  });

  it("echoes x-request-id, passes headers and the client timeout to the service", async () => {
    const { app, service } = testApp();
    const before = Date.now();
    const res = await postJson(
      app,
      "/v1/models/iris/predict",
      { inputs: [[1, 2, 3, 4]] },
      { "x-request-id": "abc-123", "x-infergate-timeout-ms": "500", "cache-control": "no-cache" },
    );
    const after = Date.now();
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBe("abc-123");
    expect(res.headers.get("x-infergate-cache")).toBe("off");
    const context = service.calls[0]?.context;
    expect(context?.requestId).toBe("abc-123");
    expect(context?.header("cache-control")).toBe("no-cache");
    expect(context?.signal).toBeInstanceOf(AbortSignal);
    expect(context?.clientDeadline).toBeGreaterThanOrEqual(before + 500);
    expect(context?.clientDeadline).toBeLessThanOrEqual(after + 500);
  });

  it("replaces an unusable x-request-id with a generated one", async () => {
    const { app } = testApp();
    const res = await postJson(
      app,
      "/v1/models/iris/predict",
      { inputs: [[1, 2, 3, 4]] },
      { "x-request-id": "x".repeat(300) },
    );
    expect(res.headers.get("x-request-id")).toMatch(UUID);
  });
});

describe("unified predict: errors", () => {
  const invalid: [string, string, unknown, RegExp][] = [
    ["malformed JSON", "/v1/predict", '{"model": "iris", "inputs": [', /malformed JSON/],
    ["a non-object body", "/v1/predict", [1, 2], /JSON object/],
    ["a missing model", "/v1/predict", { inputs: [[1, 2, 3, 4]] }, /"model" is required/],
    ["missing inputs", "/v1/models/iris/predict", { id: "x" }, /"inputs" is required/],
    ["inputs of the wrong type", "/v1/models/iris/predict", { inputs: "hello" }, /"inputs"/],
    ["a non-string id", "/v1/models/iris/predict", { id: 5, inputs: [[1, 2, 3, 4]] }, /"id"/],
    [
      "outputs that are not names",
      "/v1/models/iris/predict",
      { inputs: [[1, 2, 3, 4]], outputs: "rowsum" },
      /"outputs"/,
    ],
    [
      "ragged arrays",
      "/v1/models/iris/predict",
      {
        inputs: [
          [1, 2, 3, 4],
          [1, 2],
        ],
      },
      /input "features"/,
    ],
    [
      "an unknown input name",
      "/v1/models/iris/predict",
      { inputs: { petals: [[1, 2, 3, 4]] } },
      /unknown input "petals".*"features"/,
    ],
    [
      "a bare tensor for a two-input model",
      "/v1/models/double/predict",
      { inputs: [1, 2] },
      /has 2 inputs \("a", "b"\)/,
    ],
    [
      "a non-integer for INT64",
      "/v1/models/double/predict",
      { inputs: { a: [1.5], b: [1] } },
      /input "a"/,
    ],
    ["an out-of-range UINT8", "/v1/models/pixels/predict", { inputs: [1, 300] }, /input "img"/],
    [
      "an unknown datatype",
      "/v1/models/iris/predict",
      { inputs: { features: { datatype: "FP99", shape: [1], data: [1] } } },
      /unknown datatype "FP99"/,
    ],
    [
      "a shape that does not match the data",
      "/v1/models/iris/predict",
      { inputs: { datatype: "FP32", shape: [2, 4], data: [1, 2, 3, 4] } },
      /input "features"/,
    ],
  ];

  for (const [what, path, body, message] of invalid) {
    it(`answers 400 INVALID_REQUEST for ${what}`, async () => {
      const { app, service } = testApp();
      const res = await postJson(app, path, body, { "x-request-id": "bad-1" });
      expect(res.status).toBe(400);
      expect(res.headers.get("x-request-id")).toBe("bad-1");
      const error = await errorOf(res);
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.message).toMatch(message);
      expect(service.calls).toHaveLength(0);
    });
  }

  it("answers 400 INVALID_REQUEST for a bad x-infergate-timeout-ms header", async () => {
    const { app, service } = testApp();
    for (const value of ["soon", "0", "-5", "1.5"]) {
      const res = await postJson(
        app,
        "/v1/models/iris/predict",
        { inputs: [[1, 2, 3, 4]] },
        { "x-infergate-timeout-ms": value },
      );
      expect(res.status).toBe(400);
      expect((await errorOf(res)).message).toMatch(/x-infergate-timeout-ms/);
    }
    expect(service.calls).toHaveLength(0);
  });

  it("answers 404 MODEL_NOT_FOUND and VERSION_NOT_FOUND", async () => {
    const { app } = testApp();
    const model = await postJson(app, "/v1/predict", { model: "nope", inputs: [1] });
    expect(model.status).toBe(404);
    expect(await errorOf(model)).toEqual({
      code: "MODEL_NOT_FOUND",
      message: 'model "nope" not found',
    });
    const version = await postJson(app, "/v1/models/iris/versions/9/predict", { inputs: [1] });
    expect(version.status).toBe(404);
    expect((await errorOf(version)).code).toBe("VERSION_NOT_FOUND");
  });

  const failures: [string, number, string, string | null][] = [
    ["overloaded", 503, "OVERLOADED", "2"],
    ["unavailable", 503, "BACKEND_UNAVAILABLE", null],
    ["timeout", 504, "BACKEND_TIMEOUT", null],
    ["backend", 502, "BACKEND_ERROR", null],
    ["invalid", 400, "INVALID_REQUEST", null],
  ];
  for (const [version, status, code, retryAfter] of failures) {
    it(`maps a service ${code} to ${status}${retryAfter ? " with Retry-After" : ""}`, async () => {
      const { app, logged } = testApp();
      const res = await postJson(
        app,
        `/v1/models/fail/versions/${version}/predict`,
        { inputs: [1] },
        { "x-request-id": "f-1" },
      );
      expect(res.status).toBe(status);
      expect(res.headers.get("retry-after")).toBe(retryAfter);
      expect(res.headers.get("x-request-id")).toBe("f-1");
      expect(res.headers.get("content-type")).toMatch(/application\/json/);
      expect((await errorOf(res)).code).toBe(code);
      expect(logged).toHaveLength(0);
    });
  }

  it("answers a backend's own bad-input error as INVALID_REQUEST with its message", async () => {
    const { app } = testApp();
    const res = await postJson(app, "/v1/models/fail/versions/invalid/predict", { inputs: [1] });
    expect(await errorOf(res)).toEqual({
      code: "INVALID_REQUEST",
      message: "backend says: wrong shape",
    });
  });

  for (const version of ["internal", "crash"]) {
    it(`answers a ${version} failure as INTERNAL 500 without details, and logs it`, async () => {
      const { app, logged } = testApp();
      const res = await postJson(app, `/v1/models/fail/versions/${version}/predict`, {
        inputs: [1],
      });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: "INTERNAL", message: "internal error" } });
      expect(text).not.toMatch(/secret|at .*\.ts/);
      expect(logged).toHaveLength(1);
      const entry = logged[0];
      expect(entry?.level).toBe("error");
      const err = entry === undefined ? undefined : (entry.obj as { err?: unknown }).err;
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/secret/);
    });
  }
});
