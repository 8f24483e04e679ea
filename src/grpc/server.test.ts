import type { CallOptions, Metadata, ServiceError } from "@grpc/grpc-js";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bytesRaw,
  ERRORS,
  GrpcFakeService,
  type Harness,
  inferRequest,
  input,
  MAX_MESSAGE_BYTES,
  metadataOf,
  startHarness,
} from "../../test/support/grpc-harness.js";
import type { WireModelInferRequest } from "../protocols/kserve/proto.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

const infer = (req: Partial<WireModelInferRequest>, md?: Metadata, options?: CallOptions) =>
  h.call(h.methods.ModelInfer, inferRequest(req), md, options);

const inferError = (req: Partial<WireModelInferRequest>, md?: Metadata) =>
  h.callError(h.methods.ModelInfer, inferRequest(req), md);

describe("health and metadata RPCs", () => {
  it("ServerLive answers live", async () => {
    const { res } = await h.call(h.methods.ServerLive, {});
    expect(res).toEqual({ live: true });
  });

  it("ServerReady follows the service's readiness, read from the current service on every call", async () => {
    expect((await h.call(h.methods.ServerReady, {})).res).toEqual({ ready: true });
    const previous = h.service;
    h.service = new GrpcFakeService();
    h.service.readinessState = { ready: false, reasons: [] };
    try {
      expect((await h.call(h.methods.ServerReady, {})).res).toEqual({ ready: false });
    } finally {
      h.service = previous;
    }
  });

  it("ServerMetadata comes from service.info", async () => {
    const { res } = await h.call(h.methods.ServerMetadata, {});
    expect(res).toEqual({
      name: "infergate",
      version: "9.9.9",
      extensions: ["binary_tensor_data"],
    });
  });

  it("ModelReady answers per version, and false (status OK) for unknown models and versions", async () => {
    const ready = async (name: string, version: string) =>
      (await h.call(h.methods.ModelReady, { name, version })).res.ready;
    expect(await ready("double", "")).toBe(true);
    expect(await ready("double", "1")).toBe(true);
    expect(await ready("double", "2")).toBe(false);
    expect(await ready("ghost", "")).toBe(false);
    expect(await ready("double", "7")).toBe(false);
  });

  it("ModelReady honours the x-infergate-version metadata pin", async () => {
    const md = metadataOf({ "x-infergate-version": "2" });
    const { res } = await h.call(h.methods.ModelReady, { name: "double", version: "" }, md);
    expect(res.ready).toBe(false);
  });

  it("ModelMetadata maps the service's metadata with int64 shapes", async () => {
    const { res } = await h.call(h.methods.ModelMetadata, { name: "double", version: "2" });
    expect(res).toEqual({
      name: "double",
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: ["-1", "4"] }],
      outputs: [{ name: "y", datatype: "INT64", shape: ["-1"] }],
    });
  });

  it("ModelMetadata of an unknown model or version is NOT_FOUND in Triton's words", async () => {
    const noModel = await h.callError(h.methods.ModelMetadata, { name: "ghost", version: "" });
    expect(noModel.code).toBe(status.NOT_FOUND);
    expect(noModel.details).toBe("Request for unknown model: 'ghost' is not found");
    const noVersion = await h.callError(h.methods.ModelMetadata, { name: "double", version: "8" });
    expect(noVersion.code).toBe(status.NOT_FOUND);
    expect(noVersion.details).toBe("Request for unknown model: 'double' version 8 is not found");
  });
});

describe("ModelInfer errors", () => {
  it.each(Object.entries(ERRORS))(
    "%s maps to its gRPC status with its message",
    async (code, make) => {
      const expected = make();
      // An input that fits the metadata: a refused request gets the service's own message.
      const err = await inferError({
        model_name: "fail",
        parameters: { error: { string_param: code } },
        inputs: [input("x", "FP32", [1, 4], { fp32_contents: [1, 2, 3, 4] })],
      });
      expect(err.code).toBe(
        {
          INVALID_REQUEST: status.INVALID_ARGUMENT,
          MODEL_NOT_FOUND: status.NOT_FOUND,
          VERSION_NOT_FOUND: status.NOT_FOUND,
          PAYLOAD_TOO_LARGE: status.RESOURCE_EXHAUSTED,
          OVERLOADED: status.RESOURCE_EXHAUSTED,
          BACKEND_UNAVAILABLE: status.UNAVAILABLE,
          BACKEND_TIMEOUT: status.DEADLINE_EXCEEDED,
          BACKEND_ERROR: status.INTERNAL,
          INTERNAL: status.INTERNAL,
          JOB_NOT_FOUND: status.NOT_FOUND,
          UNAUTHENTICATED: status.UNAUTHENTICATED,
          PERMISSION_DENIED: status.PERMISSION_DENIED,
          RATE_LIMITED: status.RESOURCE_EXHAUSTED,
        }[code],
      );
      expect(err.details).toBe(expected.message);
    },
  );

  it("OVERLOADED carries retry-after in the trailers", async () => {
    const err = await inferError({
      model_name: "fail",
      parameters: { error: { string_param: "OVERLOADED" } },
    });
    expect(err.metadata.get("retry-after")).toEqual(["3"]);
  });

  it("a non-GatewayError is INTERNAL 'internal error' without details", async () => {
    const err = await inferError({ model_name: "fail" });
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe("internal error");
  });

  it("echoes x-request-id in the trailers of a failed call", async () => {
    const err = await inferError({ model_name: "ghost" }, metadataOf({ "x-request-id": "rid-1" }));
    expect(err.metadata.get("x-request-id")).toEqual(["rid-1"]);
  });

  it("an unknown model is NOT_FOUND, an unknown version NOT_FOUND", async () => {
    expect((await inferError({ model_name: "ghost" })).code).toBe(status.NOT_FOUND);
    expect((await inferError({ model_version: "5" })).code).toBe(status.NOT_FOUND);
  });

  it("a request over maxMessageBytes is RESOURCE_EXHAUSTED", async () => {
    const big = Buffer.alloc(MAX_MESSAGE_BYTES + 1024);
    const err = await inferError({
      inputs: [input("x", "UINT8", [big.length])],
      raw_input_contents: [big],
    });
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("an answer over maxMessageBytes is RESOURCE_EXHAUSTED", async () => {
    const half = Buffer.alloc(MAX_MESSAGE_BYTES / 2 + 1024);
    const err = await inferError({
      inputs: [input("x", "BYTES", [1])],
      raw_input_contents: [bytesRaw([half.toString("latin1")])],
    });
    expect(err.code).toBe(status.RESOURCE_EXHAUSTED);
  });
});

describe("ModelInfer context and response metadata", () => {
  const one = { inputs: [input("x", "FP32", [1], { fp32_contents: [1] })] };

  it("echoes x-request-id and reports version, backend and cache", async () => {
    const { headers } = await infer(one, metadataOf({ "x-request-id": "abc-123" }));
    expect(headers.get("x-request-id")).toEqual(["abc-123"]);
    expect(headers.get("x-infergate-version")).toEqual(["1"]);
    expect(headers.get("x-infergate-backend")).toEqual(["local"]);
    expect(headers.get("x-infergate-cache")).toEqual(["miss"]);
    expect(headers.get("x-infergate-fallback")).toEqual([]);
    expect(h.service.lastContext?.requestId).toBe("abc-123");
  });

  it("generates a request id when none is sent", async () => {
    const { headers } = await infer(one);
    const id = headers.get("x-request-id")[0];
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(h.service.lastContext?.requestId).toBe(id);
  });

  it("x-infergate-version metadata pins the version; fallback is reported", async () => {
    const { res, headers } = await infer(one, metadataOf({ "x-infergate-version": "2" }));
    expect(res.model_version).toBe("2");
    expect(headers.get("x-infergate-version")).toEqual(["2"]);
    expect(headers.get("x-infergate-backend")).toEqual(["remote"]);
    expect(headers.get("x-infergate-cache")).toEqual(["hit"]);
    expect(headers.get("x-infergate-fallback")).toEqual(["true"]);
  });

  it("gives the service a header lookup over the call metadata", async () => {
    await infer(one, metadataOf({ "x-user-id": "u-7" }));
    expect(h.service.lastContext?.header("x-user-id")).toBe("u-7");
    expect(h.service.lastContext?.header("X-User-Id")).toBe("u-7");
    expect(h.service.lastContext?.header("x-absent")).toBeUndefined();
  });

  it("passes the gRPC deadline as clientDeadline, and none when the client sets none", async () => {
    const deadline = Date.now() + 60_000;
    await infer(one, undefined, { deadline });
    const got = h.service.lastContext?.clientDeadline;
    expect(typeof got).toBe("number");
    // grpc sends a relative timeout, so the server's absolute deadline differs by transit time.
    expect(Math.abs((got ?? 0) - deadline)).toBeLessThan(5_000);
    await infer(one);
    expect(h.service.lastContext?.clientDeadline).toBeUndefined();
  });

  it("aborts the context signal when the client cancels", async () => {
    const entered = h.service.slowEntered;
    const settled = new Promise<number>((resolve) => {
      const c = h.client.makeUnaryRequest(
        h.methods.ModelInfer.path,
        h.methods.ModelInfer.requestSerialize,
        h.methods.ModelInfer.responseDeserialize,
        inferRequest({ ...one, model_name: "slow" }),
        (err: ServiceError | null) => resolve(err?.code ?? status.OK),
      );
      entered.then(() => c.cancel());
    });
    const signal = (await entered).signal;
    expect(await settled).toBe(status.CANCELLED);
    await h.service.slowAborted;
    expect(signal?.aborted).toBe(true);
  });
});
