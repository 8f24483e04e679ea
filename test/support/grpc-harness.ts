/**
 * Test support for the gRPC front's tests: the shared FakeService with the gRPC models, and a real grpc-js
 * client over loopback built from protos/kserve/grpc_service.proto. Not used by production code.
 */
import {
  type CallOptions,
  Client,
  credentials,
  Metadata,
  type MethodDefinition,
  type ServiceError,
} from "@grpc/grpc-js";
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  type ErrorCode,
  type GatewayError,
  InternalError,
  InvalidRequestError,
  JobNotFoundError,
  ModelNotFoundError,
  OverloadedError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitedError,
  UnauthenticatedError,
  VersionNotFoundError,
} from "../../src/errors.js";
import type { RequestContext } from "../../src/gateway/types.js";
import { createGrpcFront } from "../../src/grpc/server.js";
import {
  type KserveMethods,
  kserveService,
  type WireInferInputTensor,
  type WireModelInferRequest,
  type WireTensorContents,
} from "../../src/protocols/kserve/proto.js";
import type { NamedTensor, TensorData } from "../../src/tensor/index.js";
import { type FakeModel, FakeService } from "./fake-service.js";

export const MAX_MESSAGE_BYTES = 64 * 1024;

/** One GatewayError of each code, thrown by the model "fail" when parameter `error` names it. */
export const ERRORS: Record<ErrorCode, () => GatewayError> = {
  INVALID_REQUEST: () => new InvalidRequestError("bad input shape"),
  MODEL_NOT_FOUND: () => new ModelNotFoundError("ghost"),
  VERSION_NOT_FOUND: () => new VersionNotFoundError("fail", "9"),
  PAYLOAD_TOO_LARGE: () => new PayloadTooLargeError(10),
  OVERLOADED: () => new OverloadedError("queue full", 3),
  BACKEND_UNAVAILABLE: () => new BackendUnavailableError("all targets down"),
  BACKEND_TIMEOUT: () => new BackendTimeoutError("deadline passed"),
  BACKEND_ERROR: () => new BackendError("backend said no"),
  INTERNAL: () => new InternalError(new Error("secret")),
  JOB_NOT_FOUND: () => new JobNotFoundError("job_1"),
  UNAUTHENTICATED: () => new UnauthenticatedError(),
  PERMISSION_DENIED: () => new PermissionDeniedError('this key may not use model "fail"'),
  RATE_LIMITED: () =>
    new RateLimitedError("rate limit exceeded", { limit: 5, remaining: 0, resetSeconds: 2 }),
};

/** Doubles every element, keeping the datatype (FP16/BF16: exponent + 1 on normal numbers). */
function doubled(t: NamedTensor): NamedTensor {
  const d: TensorData = t.data;
  let data: TensorData;
  if (Array.isArray(d)) data = d.map((b) => Buffer.concat([b, b]));
  else if (d instanceof BigInt64Array) data = d.map((v) => BigInt.asIntN(64, v * 2n));
  else if (d instanceof BigUint64Array) data = d.map((v) => BigInt.asUintN(64, v * 2n));
  else if (t.datatype === "FP16") data = (d as Uint16Array).map((v) => v + 0x0400);
  else if (t.datatype === "BF16") data = (d as Uint16Array).map((v) => v + 0x0080);
  else if (t.datatype === "BOOL") data = d;
  else data = d.map((v: number) => v * 2);
  return { name: t.name, datatype: t.datatype, shape: t.shape, data };
}

const GRPC_VERSIONS = {
  "1": { backend: "local", cache: "miss" },
  "2": { backend: "remote", fallback: true, cache: "hit", ready: false },
} as const;

/** What every gRPC test model says of its tensors. */
const GRPC_MODEL = {
  versions: GRPC_VERSIONS,
  default: "1",
  platform: "onnxruntime_onnx",
  inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
  outputs: [{ name: "y", datatype: "INT64", shape: [-1] }],
  anyInputs: true,
} satisfies Omit<FakeModel, "run">;

/** A test double of the gateway for the gRPC front: models "double", "mixed", "fail", "slow". */
export class GrpcFakeService extends FakeService {
  /** Resolves with the context of the first call to "slow", and once its signal aborted. */
  readonly slowEntered: Promise<RequestContext>;
  readonly slowAborted: Promise<void>;

  constructor() {
    let enterSlow: (context: RequestContext) => void = () => {};
    let abortSlow: () => void = () => {};
    const slowEntered = new Promise<RequestContext>((resolve) => {
      enterSlow = resolve;
    });
    const slowAborted = new Promise<void>((resolve) => {
      abortSlow = resolve;
    });
    super({
      info: { name: "infergate", version: "9.9.9", extensions: ["binary_tensor_data"] },
      models: {
        double: {
          ...GRPC_MODEL,
          run: (_inputs, _version, { request }) => {
            const wanted = request.outputs;
            return request.inputs
              .filter((t) => wanted === undefined || wanted.includes(t.name))
              .map(doubled);
          },
        },
        mixed: {
          ...GRPC_MODEL,
          run: () => [
            { name: "f32", datatype: "FP32", shape: [1], data: Float32Array.of(1.5) },
            { name: "f16", datatype: "FP16", shape: [1], data: Uint16Array.of(0x3c00) },
          ],
        },
        fail: {
          ...GRPC_MODEL,
          run: (_inputs, _version, { request }) => {
            const code = request.parameters?.error;
            if (typeof code === "string" && code in ERRORS) throw ERRORS[code as ErrorCode]();
            throw new Error("secret stack detail");
          },
        },
        slow: {
          ...GRPC_MODEL,
          run: (_inputs, _version, { context }) =>
            new Promise((_resolve, reject) => {
              context.signal?.addEventListener("abort", () => {
                abortSlow();
                reject(new BackendTimeoutError("client went away"));
              });
              enterSlow(context);
            }),
        },
      },
    });
    this.slowEntered = slowEntered;
    this.slowAborted = slowAborted;
  }
}

/** A running front on 127.0.0.1 with a client connected to it. */
export interface Harness {
  /** The service the front reads on each RPC; assign to swap it (like a config reload). */
  service: GrpcFakeService;
  client: Client;
  methods: KserveMethods;
  /** One unary call; resolves with the answer and the response's initial metadata. */
  call<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    metadata?: Metadata,
    options?: CallOptions,
  ): Promise<{ res: Res; headers: Metadata }>;
  /** The call's error; throws if the call succeeds. */
  callError<Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    metadata?: Metadata,
  ): Promise<ServiceError>;
  close(): Promise<void>;
}

/** Starts the front with a GrpcFakeService and connects a client allowing 4x bigger messages. */
export async function startHarness(): Promise<Harness> {
  const { methods } = kserveService();
  const h = { service: new GrpcFakeService() };
  const front = createGrpcFront(() => h.service, { maxMessageBytes: MAX_MESSAGE_BYTES });
  const port = await front.listen("127.0.0.1", 0);
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 4 * MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": 4 * MAX_MESSAGE_BYTES,
  });
  const call = <Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    metadata = new Metadata(),
    options: CallOptions = {},
  ) =>
    new Promise<{ res: Res; headers: Metadata }>((resolve, reject) => {
      let headers = new Metadata();
      const c = client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        options,
        (err: ServiceError | null, res?: Res) => {
          if (err !== null) reject(err);
          else if (res === undefined) reject(new Error("no response"));
          else resolve({ res, headers });
        },
      );
      c.on("metadata", (md: Metadata) => {
        headers = md;
      });
    });
  const callError = async <Req, Res>(
    method: MethodDefinition<Req, Res>,
    request: Req,
    metadata?: Metadata,
  ): Promise<ServiceError> => {
    try {
      await call(method, request, metadata);
    } catch (err) {
      return err as ServiceError;
    }
    throw new Error("expected the call to fail");
  };
  return Object.assign(h, {
    client,
    methods,
    call,
    callError,
    close: async () => {
      client.close();
      await front.close(1000);
    },
  });
}

/** A ModelInferRequest for model "double" with the given fields set. */
export function inferRequest(partial: Partial<WireModelInferRequest>): WireModelInferRequest {
  return {
    model_name: "double",
    model_version: "",
    id: "",
    parameters: {},
    inputs: [],
    outputs: [],
    raw_input_contents: [],
    ...partial,
  };
}

/** An input tensor; `contents` null = none (raw requests). */
export function input(
  name: string,
  datatype: string,
  shape: number[],
  contents: Partial<WireTensorContents> | null = null,
): WireInferInputTensor {
  return { name, datatype, shape: shape.map(String), parameters: {}, contents };
}

/** gRPC metadata from plain entries. */
export function metadataOf(entries: Record<string, string>): Metadata {
  const md = new Metadata();
  for (const [k, v] of Object.entries(entries)) md.set(k, v);
  return md;
}

/** BYTES elements (latin1 strings) in the raw layout: uint32 LE length, then the bytes. */
export function bytesRaw(elements: string[]): Buffer {
  return Buffer.concat(
    elements.flatMap((e) => {
      const body = Buffer.from(e, "latin1");
      const len = Buffer.alloc(4);
      len.writeUInt32LE(body.length);
      return [len, body];
    }),
  );
}
