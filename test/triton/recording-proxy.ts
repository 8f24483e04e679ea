/**
 * A recording gRPC hop in front of a Triton (emulator): forwards the core RPCs unchanged and
 * keeps every ModelInferRequest it saw, so tests can check what the gateway sent a Triton backend.
 */
import * as grpc from "@grpc/grpc-js";
import { type Message, tritonServiceConstructor } from "./triton-client.js";

const FORWARDED = ["ServerLive", "ServerReady", "ServerMetadata", "ModelReady", "ModelMetadata"];

/** The model config this "Triton" reports for any model (a subset of Triton's fields). */
export const BACKEND_CONFIG = {
  platform: "onnxruntime_onnx",
  backend: "onnxruntime",
  max_batch_size: 4,
  input: [{ name: "INPUT0", data_type: "TYPE_INT32", dims: [16] }],
  output: [{ name: "OUTPUT0", data_type: "TYPE_INT32", dims: [16] }],
  dynamic_batching: { max_queue_delay_microseconds: 100 },
};

/** A running proxy: its address and the infer requests it forwarded, in arrival order. */
export interface RecordingProxy {
  address: string;
  inferRequests: Message[];
  /** ModelInfer calls the gateway cancelled before they were answered. */
  cancelled: { count: number };
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to the Triton gRPC server at `upstream`. */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const Service = tritonServiceConstructor();
  const client = new Service(upstream, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (
      req: unknown,
      cb: (err: grpc.ServiceError | null, res: unknown) => void,
    ) => grpc.ClientUnaryCall
  >;
  const inferRequests: Message[] = [];
  const cancelled = { count: 0 };
  const forward =
    (method: string, record = false) =>
    (call: grpc.ServerUnaryCall<Message, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (record) inferRequests.push(call.request);
      let answered = false;
      const upstream = client[method]?.call(client, call.request, (err, res) => {
        answered = true;
        callback(err, res);
      });
      // The gateway giving up on a call shows here, and is passed on upstream.
      call.on("cancelled", () => {
        if (answered) return;
        cancelled.count += 1;
        upstream?.cancel();
      });
    };
  // ModelConfig is answered here, as a Triton would from its model repository.
  const ModelConfig = (
    call: grpc.ServerUnaryCall<Message, unknown>,
    callback: grpc.sendUnaryData<unknown>,
  ) => callback(null, { config: { ...BACKEND_CONFIG, name: call.request.name } });
  const implementation: grpc.UntypedServiceImplementation = {
    ModelConfig,
    ModelInfer: forward("ModelInfer", true),
  };
  for (const method of FORWARDED) implementation[method] = forward(method);
  const server = new grpc.Server();
  server.addService(
    Object.fromEntries(
      [...FORWARDED, "ModelInfer", "ModelConfig"].map((m) => [m, Service.service[m]]),
    ) as grpc.ServiceDefinition,
    implementation,
  );
  const port = await new Promise<number>((done, fail) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? fail(err) : done(p),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    inferRequests,
    cancelled,
    close: () =>
      new Promise<void>((done) => {
        (client as unknown as grpc.Client).close();
        server.tryShutdown(() => done());
      }),
  };
}
