/**
 * The load generator's clients: one HTTP POST and one KServe v2 gRPC ModelInfer, each sending the
 * same bytes whatever is behind the address (emulator, nginx or gateway), so that differences
 * between cells are the path's and not the client's.
 */
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { Pool } from "undici";
import { kserveService, type WireModelInferRequest } from "../src/protocols/kserve/proto.js";

/** A client of one origin, closed with `close`. */
export interface BenchClient {
  /** One request; rejects unless it succeeded. */
  send(): Promise<void>;
  close(): Promise<void>;
}

/**
 * POSTs `body` to `origin` + `path` over up to `connections` keep-alive connections. Rejects on a
 * non-200 status, and when `expectHeader` is given, unless the response carries that header value.
 */
export function httpPost(
  origin: string,
  path: string,
  body: string,
  options: { connections: number; expectHeader?: [string, string] },
): BenchClient {
  const pool = new Pool(origin, { connections: options.connections, pipelining: 1 });
  const expect = options.expectHeader;
  return {
    send: async () => {
      const res = await pool.request({
        method: "POST",
        path,
        headers: { "content-type": "application/json" },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200)
        throw new Error(`status ${res.statusCode}: ${text.slice(0, 200)}`);
      if (expect !== undefined && res.headers[expect[0]] !== expect[1]) {
        throw new Error(`${expect[0]}: ${String(res.headers[expect[0]])}, expected ${expect[1]}`);
      }
    },
    close: () => pool.close(),
  };
}

/** A KServe v2 JSON infer body for one FP32 tensor. */
export function v2JsonBody(
  name: string,
  shape: readonly number[],
  data: readonly number[],
): string {
  return JSON.stringify({ inputs: [{ name, datatype: "FP32", shape, data }] });
}

/**
 * KServe v2 gRPC ModelInfer of one FP32 tensor (raw_input_contents, little-endian) on one
 * HTTP/2 connection, as grpc-js clients do.
 */
export function grpcInfer(
  address: string,
  model: string,
  version: string,
  input: { name: string; shape: readonly number[]; data: readonly number[] },
): BenchClient {
  const { methods } = kserveService();
  const method = methods.ModelInfer;
  const client = new Client(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.max_send_message_length": 64 * 1024 * 1024,
  });
  const raw = Buffer.from(Float32Array.from(input.data).buffer);
  const request: WireModelInferRequest = {
    model_name: model,
    model_version: version,
    id: "",
    parameters: {},
    inputs: [
      {
        name: input.name,
        datatype: "FP32",
        shape: input.shape.map(String),
        parameters: {},
        contents: null,
      },
    ],
    outputs: [],
    raw_input_contents: [raw],
  };
  return {
    send: () =>
      new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(
          method.path,
          method.requestSerialize,
          method.responseDeserialize,
          request,
          new Metadata(),
          {},
          (err: ServiceError | null) => (err === null ? resolve() : reject(err)),
        );
      }),
    close: async () => client.close(),
  };
}
