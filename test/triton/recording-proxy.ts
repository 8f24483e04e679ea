/**
 * A recording gRPC hop in front of a Triton (emulator): forwards the core RPCs unchanged and
 * keeps every ModelInferRequest it saw, so tests can check what the gateway sent a Triton backend.
 */

import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { Message } from "./triton-client.js";

const DIR = resolve(import.meta.dirname, "../../protos/triton");
const FORWARDED = ["ServerLive", "ServerReady", "ServerMetadata", "ModelReady", "ModelMetadata"];

/** A running proxy: its address and the infer requests it forwarded, in arrival order. */
export interface RecordingProxy {
  address: string;
  inferRequests: Message[];
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to the Triton gRPC server at `upstream`. */
export async function startRecordingProxy(upstream: string): Promise<RecordingProxy> {
  const definition = protoLoader.loadSync(resolve(DIR, "grpc_service.proto"), {
    keepCase: true,
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
    includeDirs: [DIR],
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const Service = pkg.inference.GRPCInferenceService;
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
