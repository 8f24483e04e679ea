/** The TorchServe emulator spoken to directly (plain fetch and a plain grpc-js client). */
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EmulatorControl } from "../control.js";
import { ModelRunner } from "../runner.js";
import { startTorchServeEmulator } from "./index.js";
import { inferenceService } from "./proto.js";

const TOKEN = "tok";
const auth = { authorization: `Bearer ${TOKEN}` };
let runner: ModelRunner;
let emulator: EmulatorControl;

beforeAll(async () => {
  runner = await ModelRunner.load();
  emulator = await startTorchServeEmulator({ runner, token: TOKEN });
});
afterAll(async () => {
  await emulator.close();
  await runner.close();
});

async function post(path: string, body: string, headers: Record<string, string> = auth) {
  const res = await fetch(`${emulator.restUrl}${path}`, { method: "POST", body, headers });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe("TorchServe emulator REST", () => {
  it("answers the JSON convention: bare array in, object of outputs out", async () => {
    const res = await post("/predictions/iris", "[[5.1,3.5,1.4,0.2],[6.3,3.3,6.0,2.5]]");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ label: [0, 2] });
    expect(emulator.calls.at(-1)).toMatchObject({ protocol: "rest", model: "iris", batchSize: 2 });
  });

  it("echoes int64 values beyond 2^53 exactly and single outputs as a bare array", async () => {
    const res = await fetch(`${emulator.restUrl}/predictions/echo_int64/1`, {
      method: "POST",
      headers: auth,
      body: "[[9223372036854775807, -9223372036854775808, 9007199254740993]]",
    });
    expect(await res.text()).toBe("[[9223372036854775807,-9223372036854775808,9007199254740993]]");
  });

  it("an unknown model or version is TorchServe's 404 body", async () => {
    expect(await post("/predictions/nope", "[[1]]")).toEqual({
      status: 404,
      body: { code: 404, type: "ModelNotFoundException", message: "Model not found: nope" },
    });
    expect(await post("/predictions/iris/7", "[[1,2,3,4]]")).toMatchObject({
      status: 404,
      body: { code: 404, type: "ModelVersionNotFoundException" },
    });
  });

  it.each([
    ["a wrong shape", "iris", "[[1,2,3]]", /shape \[1,3\]/],
    ["a ragged array", "iris", "[[1,2,3,4],[1]]", /ragged/],
    ["a string for a float", "iris", '[["1",2,3,4]]', /expected a number/],
    ["an out-of-range uint8", "echo_uint8", "[[256]]", /integer in \[0, 255\]/],
    ["a fraction for an int32", "echo_int32", "[[1.5]]", /integer/],
    ["an int64 beyond its range", "echo_int64", "[[9223372036854775808]]", /integer in/],
    ["a number for a string", "echo_bytes", "[[12345678901234567890]]", /a string/],
    ["a missing input", "ops", '{"a":[[1,2,3,4]]}', /missing input "b"/],
    ["an unknown input", "ops", '{"a":[[1,2,3,4]],"b":[[1,2,3,4]],"c":[]}', /unknown input "c"/],
    ["invalid JSON", "iris", "[[1,2", /not valid JSON/],
  ])("%s is a 400 with TorchServe's error body", async (_what, model, body, message) => {
    const res = await post(`/predictions/${model}`, body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 400, type: "InternalServerException" });
    expect((res.body as { message: string }).message).toMatch(message);
  });

  it("checks the token on every path and fails it with 400 InvalidKeyException", async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: "Bearer other" }];
    for (const headers of attempts) {
      const res = await post("/predictions/iris", "[[1,2,3,4]]", headers);
      expect(res).toMatchObject({ status: 400, body: { code: 400, type: "InvalidKeyException" } });
    }
    expect((await fetch(`${emulator.restUrl}/ping`)).status).toBe(400);
  });

  it("answers /ping and serves no management API on the inference port", async () => {
    const ping = await fetch(`${emulator.restUrl}/ping`, { headers: auth });
    expect(ping.status).toBe(200);
    expect(await ping.json()).toEqual({ status: "Healthy" });
    for (const path of ["/models", "/models/iris", "/models?url=http://x/m.mar", "/v2/models"]) {
      const res = await fetch(`${emulator.restUrl}${path}`, { method: "POST", headers: auth });
      expect(res.status, path).toBe(404);
      expect(await res.json()).toMatchObject({ type: "ResourceNotFoundException" });
    }
  });

  it("failEvery makes every n-th call a 503, the others answer", async () => {
    emulator.setMode({ kind: "ok", failEvery: 2 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await post("/predictions/iris", "[[1,2,3,4]]")).status);
      expect(statuses.filter((s) => s === 503)).toHaveLength(2);
      expect(statuses.filter((s) => s === 200)).toHaveLength(2);
    } finally {
      emulator.setMode({ kind: "ok" });
    }
  });
});

describe("TorchServe emulator gRPC", () => {
  const Client = grpc.makeGenericClientConstructor(inferenceService(), "InferenceAPIsService");
  const unary = (method: string, request: unknown, token = TOKEN) =>
    new Promise<{ err: grpc.ServiceError | null; res: unknown }>((resolve) => {
      const client = new Client(emulator.grpcAddress ?? "", grpc.credentials.createInsecure());
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${token}`);
      type Unary = (
        req: unknown,
        md: grpc.Metadata,
        cb: (err: grpc.ServiceError | null, res: unknown) => void,
      ) => void;
      const fn = (client as unknown as Record<string, Unary>)[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      fn.call(client, request, metadata, (err, res) => {
        client.close();
        resolve({ err, res });
      });
    });

  it("Predictions carries the JSON in input.data and the answer in prediction", async () => {
    const { err, res } = await unary("Predictions", {
      model_name: "echo_bool",
      input: { data: Buffer.from("[[true,false]]") },
    });
    expect(err).toBeNull();
    expect((res as { prediction: Buffer }).prediction.toString()).toBe("[[true,false]]");
  });

  it("an unknown model is INTERNAL, a bad input INVALID_ARGUMENT, a bad token CANCELLED", async () => {
    const missing = await unary("Predictions", {
      model_name: "nope",
      input: { data: Buffer.from("[1]") },
    });
    expect(missing.err?.code).toBe(grpc.status.INTERNAL);
    expect(missing.err?.details).toContain("Model not found: nope");
    const bad = await unary("Predictions", {
      model_name: "iris",
      input: { data: Buffer.from("[[1]]") },
    });
    expect(bad.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const denied = await unary("Ping", {}, "wrong");
    expect(denied.err?.code).toBe(grpc.status.CANCELLED);
  });

  it("Ping answers TorchServe's health document", async () => {
    const { res } = await unary("Ping", {});
    expect(JSON.parse((res as { health: string }).health)).toEqual({ status: "Healthy" });
  });

  it("modes: a job it cannot queue is INTERNAL (as InferenceImpl sends it), error is INTERNAL", async () => {
    const request = { model_name: "iris", input: { data: Buffer.from("[[1,2,3,4]]") } };
    try {
      emulator.setMode({ kind: "unavailable" });
      const refused = (await unary("Predictions", request)).err;
      expect(refused?.code).toBe(grpc.status.INTERNAL);
      expect(refused?.details).toBe(
        'Model "iris" has no worker to serve inference request. Please use scale workers API to add workers.\nInternalServerException.()',
      );
      emulator.setMode({ kind: "error" });
      expect((await unary("Predictions", request)).err?.code).toBe(grpc.status.INTERNAL);
    } finally {
      emulator.setMode({ kind: "ok" });
    }
  });
});
