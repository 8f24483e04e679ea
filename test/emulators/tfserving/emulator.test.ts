/** The TF Serving emulator on its own: raw HTTP and raw gRPC, checking it is as strict as TF Serving. */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../control.js";
import { tfServingServices } from "./grpc.js";
import { startTfServingEmulator } from "./index.js";

let emulator: EmulatorControl;
let client: grpc.Client;

beforeAll(async () => {
  emulator = await startTfServingEmulator();
  const { prediction, model } = tfServingServices();
  const Client = grpc.makeGenericClientConstructor({ ...prediction, ...model }, "Tfs");
  client = new Client(emulator.grpcAddress ?? "", grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await emulator?.close();
});

async function post(path: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${emulator.restUrl}${path}`, { method: "POST", body });
  return { status: res.status, text: await res.text() };
}

async function get(path: string): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${emulator.restUrl}${path}`);
  return { status: res.status, json: await res.json() };
}

function rpc(
  method: string,
  request: object,
): Promise<{ code: number; details: string; res?: unknown }> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => void>)[method];
    fn?.call(client, request, (err: grpc.ServiceError | null, res: unknown) =>
      resolve(
        err === null ? { code: 0, details: "", res } : { code: err.code, details: err.details },
      ),
    );
  });
}

const IRIS = "[[5.1,3.5,1.4,0.2],[6.4,3.2,4.5,1.5]]";

describe("TF Serving emulator, REST", () => {
  it("answers the columnar format with named outputs and the row format with predictions", async () => {
    const columnar = await post("/v1/models/iris:predict", `{"inputs":{"input":${IRIS}}}`);
    expect(columnar.status).toBe(200);
    const out = JSON.parse(columnar.text) as {
      outputs: { label: number[]; probabilities: number[][] };
    };
    expect(out.outputs.label).toHaveLength(2);
    expect(out.outputs.probabilities[0]).toHaveLength(3);
    const row = await post("/v1/models/iris/versions/1:predict", `{"instances":${IRIS}}`);
    const rows = JSON.parse(row.text) as { predictions: { label: number }[] };
    expect(rows.predictions.map((p) => p.label)).toEqual(out.outputs.label);
    expect(emulator.calls.at(-1)).toMatchObject({
      protocol: "rest",
      model: "iris",
      version: "1",
      batchSize: 2,
    });
  });

  it("answers a single-output signature with the bare tensor, floats always with a fraction", async () => {
    const res = await post("/v1/models/echo_fp64:predict", '{"inputs":[[1, 2.5, 1e300]]}');
    expect(res.text).toBe('{"outputs":[[1.0,2.5,1e+300]]}');
  });

  it("keeps int64 exact and decodes b64 strings", async () => {
    const big = await post(
      "/v1/models/echo_int64:predict",
      '{"inputs":{"x":[[9223372036854775807,-9223372036854775808]]}}',
    );
    expect(big.text).toBe('{"outputs":[[9223372036854775807,-9223372036854775808]]}');
    const bytes = await post("/v1/models/echo_bytes:predict", '{"inputs":[[{"b64":"aGk="},"yo"]]}');
    expect(bytes.text).toBe('{"outputs":[["hi","yo"]]}');
  });

  it.each([
    ['{"instances":[[1,2,3,4]],"inputs":[[1,2,3,4]]}', 400, "only one of 'inputs' or 'instances'"],
    [
      '{"inputs":[[1,2,3,4]],"signature_name":"nope"}',
      400,
      'Serving signature name: "nope" not found',
    ],
    ['{"inputs":[["a",2,3,4]]}', 400, "is not of expected type: float"],
    ['{"inputs":[[1,2,3,4],[1,2]]}', 400, "Encountered list at unexpected size: 2"],
    ['{"inputs":[[16777217,2,3,4]]}', 400, "without loss of precision"],
    ['{"inputs":[[1,2,3]]}', 400, "Incompatible shapes"],
    ['{"instances":[]}', 400, "No values in 'instances' array"],
    ["{oops", 400, "JSON Parse error"],
    ["{}", 400, "Missing 'inputs' or 'instances' key"],
  ])("refuses %s with %i", async (body, status, message) => {
    const res = await post("/v1/models/iris:predict", body);
    expect(res.status).toBe(status);
    expect((JSON.parse(res.text) as { error: string }).error).toContain(message);
  });

  it("refuses what TF Serving refuses on other paths and types", async () => {
    const missing = await post("/v1/models/nope:predict", '{"inputs":[1]}');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text)).toEqual({
      error: "Servable not found for request: Latest(nope)",
    });
    expect((await post("/v1/models/iris/versions/7:predict", "{}")).text).toContain(
      "Specific(iris, 7)",
    );
    expect((await post("/v1/models/iris:classify", '{"examples":[]}')).status).toBe(400);
    expect((await post("/v1/models/iris:explain", "{}")).status).toBe(400);
    expect((await post("/v1/models/echo_fp16:predict", '{"inputs":[[1.0]]}')).status).toBe(501);
    expect((await post("/v1/models/echo_uint16:predict", '{"inputs":[[1]]}')).status).toBe(501);
    expect((await post("/v1/models/echo_int32:predict", '{"inputs":[[1.5]]}')).status).toBe(400);
  });

  it("serves the status and metadata documents with TF Serving's shapes", async () => {
    expect(await get("/v1/models/iris")).toEqual({
      status: 200,
      json: {
        model_version_status: [
          { version: "1", state: "AVAILABLE", status: { error_code: "OK", error_message: "" } },
        ],
      },
    });
    expect((await get("/v1/models/iris/versions/2")).status).toBe(404);
    const meta = await get("/v1/models/iris/metadata");
    expect(meta.json).toMatchObject({
      model_spec: { name: "iris", version: "1" },
      metadata: {
        signature_def: {
          signature_def: {
            serving_default: {
              method_name: "tensorflow/serving/predict",
              inputs: {
                input: {
                  dtype: "DT_FLOAT",
                  tensor_shape: { dim: [{ size: "-1" }, { size: "4" }], unknown_rank: false },
                },
              },
              outputs: { label: { dtype: "DT_INT64" }, probabilities: { dtype: "DT_FLOAT" } },
            },
            __saved_model_init_op: { method_name: "" },
          },
        },
      },
    });
  });
});

const floatTensor = (extra: object) => ({
  dtype: "DT_FLOAT",
  tensor_shape: { dim: [{ size: 1 }, { size: 4 }] },
  ...extra,
});

describe("TF Serving emulator, gRPC", () => {
  it("predicts from tensor_content or float_val and answers with *_val fields", async () => {
    const content = Buffer.from(Float32Array.from([5.1, 3.5, 1.4, 0.2]).buffer);
    const a = await rpc("Predict", {
      model_spec: { name: "iris" },
      inputs: { input: floatTensor({ tensor_content: content }) },
      output_filter: ["label"],
    });
    const b = await rpc("Predict", {
      model_spec: { name: "iris", version: { value: 1 } },
      inputs: { input: floatTensor({ float_val: [5.1, 3.5, 1.4, 0.2] }) },
    });
    expect(a.code).toBe(0);
    const outA = (a.res as { outputs: Record<string, { int64_val: string[] }> }).outputs;
    expect(Object.keys(outA)).toEqual(["label"]);
    expect(outA.label?.int64_val).toEqual(["0"]);
    const outB = (b.res as { outputs: Record<string, { int64_val: string[] }> }).outputs;
    expect(Object.keys(outB).sort()).toEqual(["label", "probabilities"]);
    expect(emulator.calls.at(-1)).toMatchObject({ protocol: "grpc", batchSize: 1 });
  });

  it.each([
    [{ tensor_content: Buffer.alloc(16), float_val: [1] }, "tensor parsing error: input"],
    [{ tensor_content: Buffer.alloc(12) }, "tensor parsing error: input"],
  ])("refuses a malformed TensorProto", async (extra, message) => {
    const res = await rpc("Predict", {
      model_spec: { name: "iris" },
      inputs: { input: floatTensor(extra) },
    });
    expect(res).toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: message });
  });

  it("refuses unknown outputs, missing inputs, wrong dtypes and unknown models", async () => {
    const base = {
      model_spec: { name: "iris" },
      inputs: { input: floatTensor({ float_val: [1] }) },
    };
    expect(await rpc("Predict", { ...base, output_filter: ["nope"] })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("output tensor alias not found in signature: nope"),
    });
    expect(await rpc("Predict", { ...base, inputs: {} })).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("Missing but required: {input}"),
    });
    expect(
      await rpc("Predict", {
        ...base,
        inputs: { input: { ...floatTensor({}), dtype: "DT_DOUBLE" } },
      }),
    ).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringContaining("to be float"),
    });
    expect(await rpc("Predict", { ...base, model_spec: { name: "nope" } })).toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: "Servable not found for request: Latest(nope)",
    });
  });

  it("packs the SignatureDefMap into an Any and reports model status", async () => {
    const meta = await rpc("GetModelMetadata", {
      model_spec: { name: "ops" },
      metadata_field: ["signature_def"],
    });
    const any = (meta.res as { metadata: Record<string, { type_url: string; value: Buffer }> })
      .metadata.signature_def;
    expect(any?.type_url).toBe("type.googleapis.com/tensorflow.serving.SignatureDefMap");
    expect(any?.value.length).toBeGreaterThan(10);
    const status = await rpc("GetModelStatus", { model_spec: { name: "ops" } });
    expect(status.res).toMatchObject({
      model_version_status: [{ version: "1", state: "AVAILABLE" }],
    });
    expect((await rpc("GetModelStatus", { model_spec: { name: "nope" } })).code).toBe(
      grpc.status.NOT_FOUND,
    );
  });
});
