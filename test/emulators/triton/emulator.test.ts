/**
 * The Triton emulator is as strict as Triton: these drive it with plain HTTP (fetch) and a plain
 * grpc-js client, independent of the gateway's adapter.
 */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../control.js";
import { ModelRunner } from "../runner.js";
import { tritonServiceDefinition } from "./grpc.js";
import { startTritonEmulator } from "./index.js";

let runner: ModelRunner;
let emulator: EmulatorControl;
let client: grpc.Client;

beforeAll(async () => {
  runner = await ModelRunner.load();
  emulator = await startTritonEmulator({ runner });
  const Client = grpc.makeGenericClientConstructor(tritonServiceDefinition(), "Triton");
  client = new Client(emulator.grpcAddress ?? "", grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await emulator?.close();
  await runner?.close();
});

const IRIS = [5.1, 3.5, 1.4, 0.2];

async function post(path: string, body: unknown, binary?: Uint8Array) {
  const json = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (binary !== undefined) headers["inference-header-content-length"] = String(json.length);
  const res = await fetch(`${emulator.restUrl}${path}`, {
    method: "POST",
    headers,
    body: binary === undefined ? json : Buffer.concat([json, binary]),
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

function fp32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

describe("Triton emulator: REST", () => {
  it("answers a JSON request in JSON, with exact INT64 labels", async () => {
    const res = await post("/v2/models/iris/infer", {
      id: "q1",
      inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: [IRIS] }],
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("inference-header-content-length")).toBeNull();
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: "q1", model_name: "iris", model_version: "1" });
    expect(body.outputs).toContainEqual({
      name: "label",
      datatype: "INT64",
      shape: [1],
      data: [0],
    });
  });

  it("takes binary inputs and answers binary outputs when asked", async () => {
    const res = await post(
      "/v2/models/iris/versions/1/infer",
      {
        inputs: [
          { name: "input", datatype: "FP32", shape: [1, 4], parameters: { binary_data_size: 16 } },
        ],
        outputs: [{ name: "label", parameters: { binary_data: true } }],
      },
      fp32Bytes(IRIS),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const length = Number(res.headers.get("inference-header-content-length"));
    const json = JSON.parse(res.body.subarray(0, length).toString()) as { outputs: unknown[] };
    expect(json.outputs).toEqual([
      { name: "label", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } },
    ]);
    expect(res.body.subarray(length).readBigInt64LE(0)).toBe(0n);
  });

  it.each([
    [
      "FP16 data in JSON",
      "/v2/models/echo_fp16/infer",
      { inputs: [{ name: "x", datatype: "FP16", shape: [1, 1], data: [1] }] },
      undefined,
      400,
      "receiving FP16 data via JSON is not supported",
    ],
    [
      "an unknown model",
      "/v2/models/nope/infer",
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: IRIS }] },
      undefined,
      404,
      "Request for unknown model: 'nope' is not found",
    ],
    [
      "an unknown version",
      "/v2/models/iris/versions/9/infer",
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: IRIS }] },
      undefined,
      404,
      "Request for unknown model: 'iris' version 9 is not found",
    ],
    [
      "a wrong shape",
      "/v2/models/iris/infer",
      { inputs: [{ name: "input", datatype: "FP32", shape: [1, 3], data: [1, 2, 3] }] },
      undefined,
      400,
      "unexpected shape for input 'input' for model 'iris'. Expected [-1,4], got [1,3]",
    ],
    [
      "a wrong datatype",
      "/v2/models/iris/infer",
      { inputs: [{ name: "input", datatype: "FP64", shape: [1, 4], data: IRIS }] },
      undefined,
      400,
      "inference input 'input' data-type is 'FP64', but model 'iris' expects 'FP32'",
    ],
    [
      "a binary size that does not fit the shape",
      "/v2/models/iris/infer",
      {
        inputs: [
          { name: "input", datatype: "FP32", shape: [1, 4], parameters: { binary_data_size: 12 } },
        ],
      },
      fp32Bytes([1, 2, 3]),
      400,
      "input byte size mismatch for input 'input' for model 'iris'. Expected 16, got 12",
    ],
    [
      "a BYTES element whose length runs past the data",
      "/v2/models/echo_bytes/infer",
      {
        inputs: [
          { name: "x", datatype: "BYTES", shape: [1, 1], parameters: { binary_data_size: 6 } },
        ],
      },
      Uint8Array.from([9, 0, 0, 0, 104, 105]),
      400,
      "incomplete string data for inference input 'x'",
    ],
    [
      "a missing input",
      "/v2/models/ops/infer",
      { inputs: [{ name: "a", datatype: "FP32", shape: [1, 4], data: [1, 2, 3, 4] }] },
      undefined,
      400,
      "expected 2 inputs but got 1 inputs for model 'ops'",
    ],
    [
      "an unknown output",
      "/v2/models/iris/infer",
      {
        inputs: [{ name: "input", datatype: "FP32", shape: [1, 4], data: IRIS }],
        outputs: [{ name: "nope" }],
      },
      undefined,
      400,
      "unexpected inference output 'nope' for model 'iris'",
    ],
  ])("rejects %s like Triton", async (_label, path, body, binary, status, message) => {
    const res = await post(path, body, binary);
    expect(res.status).toBe(status);
    expect((JSON.parse(res.body.toString()) as { error: string }).error).toContain(message);
  });

  it("serves health, readiness and metadata; unknown paths 404, wrong methods 405", async () => {
    const get = (path: string) => fetch(`${emulator.restUrl}${path}`);
    expect((await get("/v2/health/live")).status).toBe(200);
    expect((await get("/v2/models/iris/ready")).status).toBe(200);
    expect((await get("/v2/models/iris/versions/2/ready")).status).toBe(400);
    expect((await get("/v2/models/nope/ready")).status).toBe(400);
    const meta = await (await get("/v2/models/iris")).json();
    expect(meta).toMatchObject({
      name: "iris",
      versions: ["1"],
      inputs: [{ name: "input", datatype: "FP32", shape: [-1, 4] }],
    });
    const missing = await get("/v2/models/nope");
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: "Request for unknown model: 'nope' is not found",
    });
    expect((await get("/v3/health")).status).toBe(404);
    expect((await get("/v2/models/iris/infer")).status).toBe(405);
  });

  it("fails every n-th call as unavailable (503) under failEvery", async () => {
    const body = {
      inputs: [{ name: "input", datatype: "FP32", shape: [2, 4], data: [...IRIS, ...IRIS] }],
    };
    emulator.setMode({ kind: "ok", failEvery: 2 });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await post("/v2/models/iris/infer", body)).status);
      expect(statuses.filter((s) => s === 503)).toHaveLength(2);
      expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    } finally {
      emulator.setMode({ kind: "ok" });
    }
    expect(emulator.calls.at(-1)).toMatchObject({ protocol: "rest", model: "iris", batchSize: 2 });
  });
});

type Callback = (err: grpc.ServiceError | null, response?: Record<string, unknown>) => void;

function rpc(method: string, request: unknown): Promise<Record<string, unknown>> {
  const fn = (client as unknown as Record<string, (r: unknown, cb: Callback) => void>)[method];
  return new Promise((resolve, reject) => {
    fn?.call(client, request, (err, response) =>
      err === null ? resolve(response ?? {}) : reject(err),
    );
  });
}

describe("Triton emulator: gRPC", () => {
  const input = (contents: unknown) => ({
    name: "input",
    datatype: "FP32",
    shape: ["1", "4"],
    ...(contents === undefined ? {} : { contents }),
  });

  it("accepts typed contents and still answers in raw_output_contents", async () => {
    const res = await rpc("ModelInfer", {
      model_name: "iris",
      inputs: [input({ fp32_contents: IRIS })],
      outputs: [{ name: "label" }],
    });
    const outputs = res.outputs as { name: string; contents: unknown }[];
    expect(outputs.map((o) => [o.name, o.contents])).toEqual([["label", null]]);
    const raw = res.raw_output_contents as Buffer[];
    expect(raw).toHaveLength(1);
    expect(raw[0]?.readBigInt64LE(0)).toBe(0n);
    expect(emulator.calls.at(-1)).toMatchObject({ protocol: "grpc", model: "iris", batchSize: 1 });
  });

  it.each([
    [
      "typed contents alongside raw contents",
      { inputs: [input({ fp32_contents: IRIS })], raw_input_contents: [fp32Bytes(IRIS)] },
      grpc.status.INVALID_ARGUMENT,
      "contents field must not be specified when using raw_input_contents for 'input'",
    ],
    [
      "raw contents of the wrong size",
      { inputs: [input(undefined)], raw_input_contents: [fp32Bytes([1, 2, 3])] },
      grpc.status.INVALID_ARGUMENT,
      "input byte size mismatch for input 'input' for model 'iris'. Expected 16, got 12",
    ],
    [
      "fewer raw contents than inputs",
      {
        inputs: [input(undefined), { ...input(undefined), name: "other" }],
        raw_input_contents: [fp32Bytes(IRIS)],
      },
      grpc.status.INVALID_ARGUMENT,
      "raw_input_contents",
    ],
  ])("rejects %s", async (_label, request, code, message) => {
    const err = await rpc("ModelInfer", { model_name: "iris", ...request }).catch((e) => e);
    expect(err).toMatchObject({ code });
    expect((err as grpc.ServiceError).details).toContain(message);
  });

  it("records an answered call as answered, and only a call the client abandons as cancelled", async () => {
    const request = { model_name: "iris", inputs: [input({ fp32_contents: IRIS })] };
    await rpc("ModelInfer", request);
    // grpc-js emits 'cancelled' when a finished call's stream closes too: that is no cancel.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(emulator.calls.at(-1)?.cancelled).toBeUndefined();
    emulator.setMode({ kind: "stall" });
    try {
      const fn = (
        client as unknown as Record<string, (r: unknown, cb: Callback) => grpc.ClientUnaryCall>
      ).ModelInfer;
      const before = emulator.calls.length;
      const call = fn?.call(client, request, () => undefined);
      await expect.poll(() => emulator.calls.length).toBe(before + 1);
      call?.cancel();
      await expect.poll(() => emulator.calls.at(-1)?.cancelled).toBe(true);
    } finally {
      emulator.setMode({ kind: "ok" });
    }
  });

  it("answers NOT_FOUND for an unknown model and ready=false for it", async () => {
    const err = await rpc("ModelInfer", {
      model_name: "nope",
      inputs: [input(undefined)],
      raw_input_contents: [fp32Bytes(IRIS)],
    }).catch((e) => e);
    expect(err).toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(await rpc("ModelReady", { name: "nope" })).toEqual({ ready: false });
    expect(await rpc("ModelReady", { name: "iris", version: "1" })).toEqual({ ready: true });
  });
});

describe("Triton emulator: kill and restart", () => {
  it("refuses connections after kill and serves again on the same ports after restart", async () => {
    const { restUrl, grpcAddress } = emulator;
    await emulator.kill();
    await expect(fetch(`${restUrl}/v2/health/live`)).rejects.toThrow();
    await emulator.restart();
    expect(emulator.restUrl).toBe(restUrl);
    expect(emulator.grpcAddress).toBe(grpcAddress);
    expect((await fetch(`${restUrl}/v2/health/live`)).status).toBe(200);
    await expect
      .poll(() => rpc("ServerLive", {}).catch(() => ({ live: false })), { timeout: 5000 })
      .toEqual({ live: true });
  });
});

describe("Triton emulator: stateful models", () => {
  const seq = (
    id: unknown,
    value: number,
    start: boolean,
    end: boolean,
    model = "simple_sequence",
  ) =>
    post(`/v2/models/${model}/infer`, {
      parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
      inputs: [{ name: "INPUT", datatype: "INT32", shape: [1, 1], data: [value] }],
    });
  const json = (r: { body: Buffer }) => JSON.parse(r.body.toString()) as Record<string, unknown>;
  const output = (r: { body: Buffer }) =>
    ((json(r).outputs as { data: number[] }[])[0]?.data ?? [])[0];

  it("reports INPUT and OUTPUT like the ONNX models, version 1", async () => {
    const meta = (await (await fetch(`${emulator.restUrl}/v2/models/simple_sequence`)).json()) as {
      versions: string[];
      inputs: unknown[];
    };
    expect(meta.versions).toEqual(["1"]);
    expect(meta.inputs).toEqual([{ name: "INPUT", datatype: "INT32", shape: [-1, 1] }]);
  });

  it("simple_sequence: START adds 1; a string id works; the answer says the step", async () => {
    const first = await seq("abc", 20, true, false);
    expect(output(first)).toBe(21);
    expect(json(first).parameters).toEqual({ sequence_step: 1 });
    const second = await seq("abc", 7, false, true);
    expect(output(second)).toBe(7);
    expect(json(second).parameters).toEqual({ sequence_step: 2 });
  });

  it("a sequence must start with START, and is gone after END", async () => {
    const res = await seq(41, 1, false, false);
    expect(res.status).toBe(400);
    expect(json(res).error).toBe(
      "inference request for sequence 41 to model 'simple_sequence' must specify the START flag on the first request of the sequence",
    );
    expect((await seq(0, 1, true, false)).status).toBe(400);
    await seq(42, 1, true, true);
    expect((await seq(42, 1, false, false)).status).toBe(400);
  });

  it("simple_string_dyna_sequence sums its sequence and adds the id at the END", async () => {
    const model = "simple_string_dyna_sequence";
    const outs = [];
    for (const [i, v] of [5, 6, 7].entries()) {
      outs.push(output(await seq("1002", v, i === 0, i === 2, model)));
    }
    expect(outs).toEqual([5, 11, 18 + 1002]);
    expect((await seq("not-a-number", 1, true, false, model)).status).toBe(400);
  });
});
