/**
 * The emulator's gRPC `InferenceAPIsService` (Ping, Predictions) with TorchServe's statuses: an
 * unknown model is INTERNAL (InferenceImpl sends ModelNotFoundException as INTERNAL), a worker's
 * error status goes through GRPCUtils' HTTP -> gRPC table (400 INVALID_ARGUMENT, 503 UNAVAILABLE,
 * 500 INTERNAL), and the Java class is appended to the details as `augmentDescription` does. A
 * failed token check is CANCELLED, as TorchServe's GRPCInterceptor answers it.
 */
import { createServer, type Server, type Socket } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { CallCancelled, type Engine, TOKEN_MESSAGE, TorchServeFailure } from "./engine.js";
import { inferenceService } from "./proto.js";

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

/**
 * A gRPC server that can be killed and started again on the same port. The TCP listener is ours
 * (connections are injected into grpc-js), so kill() can drop every socket the way a dying
 * process does; grpc-js' own forceShutdown would answer open calls with CANCELLED instead.
 */
export class GrpcServer {
  private readonly server: grpc.Server;
  private listener: Server | undefined;
  private injector: grpc.ConnectionInjector | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(private readonly engine: Engine) {
    this.server = new grpc.Server({
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.max_send_message_length": 64 * 1024 * 1024,
    });
    this.server.addService(inferenceService(), {
      Ping: (
        call: grpc.ServerUnaryCall<unknown, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        if (!this.authorized(call.metadata)) {
          callback({ code: grpc.status.CANCELLED, details: TOKEN_MESSAGE });
          return;
        }
        callback(null, { health: `{\n  "status": "Healthy"\n}` });
      },
      Predictions: (
        call: grpc.ServerUnaryCall<PredictionsRequest, unknown>,
        callback: grpc.sendUnaryData<unknown>,
      ) => {
        this.predictions(call, callback).catch((err: unknown) => {
          callback({ code: grpc.status.INTERNAL, details: `emulator failure: ${String(err)}` });
        });
      },
      StreamPredictions: (call: grpc.ServerWritableStream<PredictionsRequest, unknown>) => {
        call.emit("error", { code: grpc.status.UNIMPLEMENTED, details: "not emulated" });
      },
    });
  }

  /** `127.0.0.1:PORT`. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    const injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const listener = createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      injector.injectConnection(socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(this.port, "127.0.0.1", () => {
        listener.off("error", reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address !== null && typeof address === "object") this.port = address.port;
    this.listener = listener;
    this.injector = injector;
  }

  /** Stops listening and destroys every connection at once, like a killed process. */
  async kill(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    if (listener === undefined) return;
    const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    this.injector?.destroy();
    this.injector = undefined;
    await closed;
  }

  /** Stops for good. */
  async close(): Promise<void> {
    await this.kill();
    this.server.forceShutdown();
  }

  private authorized(metadata: grpc.Metadata): boolean {
    const [value] = metadata.get("authorization");
    return this.engine.authorized(typeof value === "string" ? value : undefined);
  }

  private async predictions(
    call: grpc.ServerUnaryCall<PredictionsRequest, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ): Promise<void> {
    if (!this.authorized(call.metadata)) {
      callback({ code: grpc.status.CANCELLED, details: TOKEN_MESSAGE });
      return;
    }
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
      const answer = await this.engine.predict(
        "grpc",
        model,
        version === "" ? undefined : version,
        body,
        controller.signal,
      );
      callback(null, { prediction: Buffer.from(answer, "utf8") });
    } catch (err) {
      if (err instanceof CallCancelled) return;
      if (!(err instanceof TorchServeFailure)) throw err;
      // InferenceImpl answers a missing model or version with INTERNAL, not NOT_FOUND.
      const code = err.status === 404 ? grpc.status.INTERNAL : grpcStatus(err.status);
      callback({ code, details: `${err.message}\n${err.javaClass}` });
    }
  }
}
