/**
 * A recording gRPC hop in front of a Triton (emulator): forwards the core RPCs unchanged and
 * keeps every ModelInferRequest it saw, so tests can check what the gateway sent a Triton backend.
 */
import * as grpc from "@grpc/grpc-js";
import { type Message, tritonServiceConstructor } from "./triton-client.js";

const FORWARDED = ["ServerLive", "ServerReady", "ServerMetadata", "ModelReady", "ModelMetadata"];

/** A running proxy: its address and the infer requests it forwarded, in arrival order. */
export interface RecordingProxy {
  address: string;
  inferRequests: Message[];
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to the Triton gRPC server at `upstream`. */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const Service = tritonServiceConstructor();
  const client = new Service(upstream, grpc.credentials.createInsecure()) as unknown as Record<
    string,
    (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void
  >;
  const inferRequests: Message[] = [];
  const forward =
    (method: string, record = false) =>
    (call: grpc.ServerUnaryCall<Message, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      if (record) inferRequests.push(call.request);
      client[method]?.call(client, call.request, (err, res) => callback(err, res));
    };
  const implementation: grpc.UntypedServiceImplementation = {
    ModelInfer: forward("ModelInfer", true),
  };
  for (const method of FORWARDED) implementation[method] = forward(method);
  const server = new grpc.Server();
  server.addService(
    Object.fromEntries(
      [...FORWARDED, "ModelInfer"].map((m) => [m, Service.service[m]]),
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
    close: () =>
      new Promise<void>((done) => {
        (client as unknown as grpc.Client).close();
        server.tryShutdown(() => done());
      }),
  };
}
