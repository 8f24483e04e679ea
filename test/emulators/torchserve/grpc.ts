/**
 * The emulator's gRPC `InferenceAPIsService` (Ping, Predictions) with TorchServe's statuses: an
 * unknown model is INTERNAL (InferenceImpl sends ModelNotFoundException as INTERNAL), so is a job
 * it cannot queue ("has no worker to serve inference request"), a worker's
 * error status goes through GRPCUtils' HTTP -> gRPC table (400 INVALID_ARGUMENT, 503 UNAVAILABLE,
 * 500 INTERNAL), and the Java class is appended to the details as `augmentDescription` does. A
 * failed token check is CANCELLED, as TorchServe's GRPCInterceptor answers it.
 */
import * as grpc from "@grpc/grpc-js";
import { requestIdOf } from "../control.js";
import { CallCancelled, type Engine, TOKEN_MESSAGE, TorchServeFailure } from "./engine.js";

interface PredictionsRequest {
  model_name: string;
  model_version: string;
  input: Record<string, Buffer>;
}

/** GRPCUtils.getGRPCStatusCode for the statuses the emulator produces. */
function grpcStatus(httpStatus: number): grpc.status {
  switch (httpStatus) {
    case 400:
      return grpc.status.INVALID_ARGUMENT;
    case 404:
      return grpc.status.NOT_FOUND;
    case 503:
      return grpc.status.UNAVAILABLE;
    case 504:
      return grpc.status.DEADLINE_EXCEEDED;
    default:
      return httpStatus >= 400 && httpStatus < 500
        ? grpc.status.FAILED_PRECONDITION
        : grpc.status.INTERNAL;
  }
}

/** The `InferenceAPIsService` handlers over the engine. */
export function inferenceImplementation(engine: Engine): grpc.UntypedServiceImplementation {
  const authorized = (metadata: grpc.Metadata): boolean => {
    const [value] = metadata.get("authorization");
    return engine.authorized(typeof value === "string" ? value : undefined);
  };
  return {
    Ping: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (!authorized(call.metadata)) {
        callback({ code: grpc.status.CANCELLED, details: TOKEN_MESSAGE });
        return;
      }
      callback(null, { health: `{\n  "status": "Healthy"\n}` });
    },
    Predictions: (
      call: grpc.ServerUnaryCall<PredictionsRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      if (!authorized(call.metadata)) {
        callback({ code: grpc.status.CANCELLED, details: TOKEN_MESSAGE });
        return;
      }
      predictions(engine, call, callback).catch((err: unknown) => {
        callback({ code: grpc.status.INTERNAL, details: `emulator failure: ${String(err)}` });
      });
    },
    StreamPredictions: (call: grpc.ServerWritableStream<PredictionsRequest, unknown>) => {
      call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "not emulated" });
    },
  };
}

async function predictions(
  engine: Engine,
  call: grpc.ServerUnaryCall<PredictionsRequest, unknown>,
  callback: grpc.sendUnaryData<unknown>,
): Promise<void> {
  const { model_name: model, model_version: version, input } = call.request;
  if (model === "") {
    callback({
      code: grpc.status.INTERNAL,
      details: "Parameter model_name is required.\nBadRequestException.()",
    });
    return;
  }
  const controller = new AbortController();
  call.on("cancelled", () => controller.abort());
  try {
    const body = input.data ?? Buffer.alloc(0);
    const answer = await engine.predict(
      "grpc",
      model,
      version === "" ? undefined : version,
      body,
      controller.signal,
      requestIdOf(call.metadata.get("x-request-id")),
    );
    callback(null, { prediction: Buffer.from(answer, "utf8") });
  } catch (err) {
    if (err instanceof CallCancelled) return;
    if (!(err instanceof TorchServeFailure)) throw err;
    // InferenceImpl answers a missing model or version with INTERNAL, not NOT_FOUND.
    if (err.status === 404) {
      callback({ code: grpc.status.INTERNAL, details: `${err.message}\n${err.javaClass}` });
      return;
    }
    // A job TorchServe cannot queue (no free worker, queue full) never reaches a worker:
    // InferenceImpl sends it as INTERNAL with InternalServerException, not as UNAVAILABLE.
    if (err.type === "ServiceUnavailableException") {
      callback({
        code: grpc.status.INTERNAL,
        details: `${err.message}\nInternalServerException.()`,
      });
      return;
    }
    callback({ code: grpcStatus(err.status), details: `${err.message}\n${err.javaClass}` });
  }
}
