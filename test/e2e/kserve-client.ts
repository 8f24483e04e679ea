/**
 * A KServe v2 gRPC client built only from protos/ (loaded here, independently of src/), as a
 * Triton or KServe user's client would be.
 */
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = resolve(import.meta.dirname, "../../protos/kserve/grpc_service.proto");

/** A loosely typed unary call: the test reads fields it knows from the proto. */
export type Unary = (
  request: Record<string, unknown>,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: Record<string, unknown>) => void,
) => grpc.ClientUnaryCall;

/**
 * Opens a client to `address`; `options` are grpc-js channel options (e.g.
 * `grpc.default_compression_algorithm`, as tritonclient's `compression_algorithm` sets it).
 */
export function kserveClient(
  address: string,
  options: grpc.ChannelOptions = {},
): {
  call(
    method: string,
    request: Record<string, unknown>,
    metadata?: Record<string, string>,
  ): Promise<Record<string, unknown>>;
  /** `call`, also resolving the answer's initial metadata (the gateway's `x-infergate-*`). */
  callWithMetadata(
    method: string,
    request: Record<string, unknown>,
    metadata?: Record<string, string>,
  ): Promise<{ response: Record<string, unknown>; metadata: grpc.Metadata }>;
  close(): void;
} {
  const definition = protoLoader.loadSync(PROTO, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    inference: { GRPCInferenceService: grpc.ServiceClientConstructor };
  };
  const client = new pkg.inference.GRPCInferenceService(
    address,
    grpc.credentials.createInsecure(),
    options,
  );
  const callWithMetadata = (
    method: string,
    request: Record<string, unknown>,
    metadata: Record<string, string> = {},
  ): Promise<{ response: Record<string, unknown>; metadata: grpc.Metadata }> => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(metadata)) md.set(k, v);
    const fn = (client as unknown as Record<string, Unary>)[method];
    if (fn === undefined) throw new Error(`no method ${method}`);
    return new Promise((resolvePromise, reject) => {
      let answered = new grpc.Metadata();
      const call = fn.call(client, request, md, { deadline: Date.now() + 5000 }, (err, response) =>
        err ? reject(err) : resolvePromise({ response, metadata: answered }),
      );
      call.on("metadata", (m: grpc.Metadata) => {
        answered = m;
      });
    });
  };
  return {
    async call(method, request, metadata = {}) {
      return (await callWithMetadata(method, request, metadata)).response;
    },
    callWithMetadata,
    close() {
      client.close();
    },
  };
}
