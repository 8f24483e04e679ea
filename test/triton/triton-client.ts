/**
 * A Triton gRPC client built only from Triton's official protos (protos/triton, loaded here
 * independently of src/), as tritonclient's generated stubs would be.
 */
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const DIR = resolve(import.meta.dirname, "../../protos/triton");

/** A decoded message, read loosely: the tests name the fields they check. */
export type Message = Record<string, unknown>;

type Unary = (
  request: Message,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response: Message) => void,
) => void;

/** A client of `inference.GRPCInferenceService` with every RPC of Triton's proto. */
export interface TritonClient {
  call(method: string, request: Message): Promise<Message>;
  /** The error a call fails with; throws when it succeeds. */
  callError(method: string, request: Message): Promise<grpc.ServiceError>;
  /** Sends `requests` on one ModelStreamInfer stream, half-closes, and collects every answer. */
  stream(
    requests: Message[],
    options?: grpc.CallOptions,
    metadata?: grpc.Metadata,
  ): Promise<Message[]>;
  /** The raw stream, for tests that steer it themselves. */
  openStream(
    options?: grpc.CallOptions,
    metadata?: grpc.Metadata,
  ): grpc.ClientDuplexStream<Message, Message>;
  close(): void;
}

/** Triton's service constructor, loaded from protos/triton (bytes as Buffers, oneofs named). */
export function tritonServiceConstructor(): grpc.ServiceClientConstructor {
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
  return pkg.inference.GRPCInferenceService;
}

/** Opens a client to `address` (host:port). */
export function tritonClient(address: string): TritonClient {
  const client = new (tritonServiceConstructor())(address, grpc.credentials.createInsecure());
  const methods = client as unknown as Record<string, Unary>;
  const call = (method: string, request: Message) =>
    new Promise<Message>((done, fail) => {
      const fn = methods[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + 5000 }, (err, res) =>
        err ? fail(err) : done(res),
      );
    });
  const openStream = (options: grpc.CallOptions = {}, metadata = new grpc.Metadata()) => {
    const fn = (client as unknown as Record<string, (...a: unknown[]) => unknown>).ModelStreamInfer;
    if (fn === undefined) throw new Error("no ModelStreamInfer");
    return fn.call(client, metadata, options) as grpc.ClientDuplexStream<Message, Message>;
  };
  return {
    call,
    async callError(method, request) {
      try {
        await call(method, request);
      } catch (err) {
        return err as grpc.ServiceError;
      }
      throw new Error(`${method} succeeded`);
    },
    stream(requests, options = { deadline: Date.now() + 5000 }, metadata = new grpc.Metadata()) {
      return new Promise((done, fail) => {
        const s = openStream(options, metadata);
        const got: Message[] = [];
        s.on("data", (m: Message) => got.push(m));
        s.on("error", fail);
        s.on("end", () => done(got));
        for (const r of requests) s.write(r);
        s.end();
      });
    },
    openStream,
    close: () => client.close(),
  };
}

/** An INT32 [1,16] input given as raw little-endian bytes. */
export function int32Raw(values: readonly number[]): Buffer {
  const buf = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    buf.writeInt32LE(v, i * 4);
  });
  return buf;
}

/** The INT32 values of a raw output. */
export function int32Values(bytes: unknown): number[] {
  const buf = Buffer.from(bytes as Uint8Array);
  return Array.from({ length: buf.length / 4 }, (_, i) => buf.readInt32LE(i * 4));
}

/** A ModelInferRequest for "simple" with typed contents. */
export function simpleRequest(
  a: readonly number[],
  b: readonly number[],
  model = "simple",
): Message {
  const tensor = (name: string, values: readonly number[]) => ({
    name,
    datatype: "INT32",
    shape: [1, 16],
    contents: { int_contents: values },
  });
  return { model_name: model, inputs: [tensor("INPUT0", a), tensor("INPUT1", b)] };
}
