/**
 * Test support for the gRPC front's tests: a test double of InferenceService and a real grpc-js
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
import type { ModelMetadata } from "../backends/types.js";
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
} from "../errors.js";
import type {
  BreakerInfo,
  HeaderLookup,
  InferenceService,
  InferRequest,
  InferResponse,
  RequestContext,
  Route,
  RoutesTable,
} from "../gateway/types.js";
import type { NamedTensor, TensorData } from "../tensor/index.js";
import {
  type KserveMethods,
  kserveService,
  type WireInferInputTensor,
  type WireModelInferRequest,
  type WireTensorContents,
} from "./proto.js";
import { createGrpcFront } from "./server.js";

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

/** A test double of the gateway: models "double", "mixed", "fail", "slow". */
export class FakeService implements InferenceService {
  readonly info = { name: "infergate", version: "9.9.9", extensions: ["binary_tensor_data"] };
  readyAnswer = true;
  lastContext: RequestContext | undefined;
  lastRequest: InferRequest | undefined;
  /** Resolves with the context of the first call to "slow", and once its signal aborted. */
  readonly slowEntered: Promise<RequestContext>;
  readonly slowAborted: Promise<void>;
  private enterSlow: (context: RequestContext) => void = () => {};
  private abortSlow: () => void = () => {};

  constructor() {
    this.slowEntered = new Promise((resolve) => {
      this.enterSlow = resolve;
    });
    this.slowAborted = new Promise((resolve) => {
      this.abortSlow = resolve;
    });
  }

  models(): string[] {
    return ["double", "mixed", "fail", "slow"];
  }

  resolve(model: string, version: string | undefined, header: HeaderLookup): Route {
    if (!this.models().includes(model)) throw new ModelNotFoundError(model);
    const v = version ?? header("x-infergate-version") ?? "1";
    if (v !== "1" && v !== "2") throw new VersionNotFoundError(model, v);
    return { model, version: v, backend: v === "1" ? "local" : "remote" };
  }

  async metadata(route: Route): Promise<ModelMetadata> {
    return {
      name: route.model,
      versions: ["1", "2"],
      platform: "onnxruntime_onnx",
      inputs: [{ name: "x", datatype: "FP32", shape: [-1, 4] }],
      outputs: [{ name: "y", datatype: "INT64", shape: [-1] }],
    };
  }

  async ready(route: Route): Promise<boolean> {
    return route.version === "1";
  }

  async infer(
    route: Route,
    request: InferRequest,
    context: RequestContext,
  ): Promise<InferResponse> {
    this.lastContext = context;
    this.lastRequest = request;
    const base = {
      id: request.id,
      model: route.model,
      version: route.version,
      backend: route.backend,
    };
    const flags = {
      fallback: route.version === "2",
      cache: route.version === "2" ? "hit" : "miss",
    } as const;
    switch (route.model) {
      case "double": {
        const wanted = request.outputs;
        const inputs = request.inputs.filter(
          (t) => wanted === undefined || wanted.includes(t.name),
        );
        return { ...base, ...flags, outputs: inputs.map(doubled) };
      }
      case "mixed":
        return {
          ...base,
          ...flags,
          outputs: [
            { name: "f32", datatype: "FP32", shape: [1], data: Float32Array.of(1.5) },
            { name: "f16", datatype: "FP16", shape: [1], data: Uint16Array.of(0x3c00) },
          ],
        };
      case "slow":
        return new Promise((_resolve, reject) => {
          context.signal?.addEventListener("abort", () => {
            this.abortSlow();
            reject(new BackendTimeoutError("client went away"));
          });
          this.enterSlow(context);
        });
      default: {
        const code = request.parameters?.error;
        if (typeof code === "string" && code in ERRORS) throw ERRORS[code as ErrorCode]();
        throw new Error("secret stack detail");
      }
    }
  }

  /** Breakers GET /admin/breakers reports. */
  breakerList: BreakerInfo[] = [];

  breakers(): BreakerInfo[] {
    return this.breakerList;
  }

  routes(): RoutesTable {
    const versions = {
      "1": { backend: "local", model: "m" },
      "2": { backend: "remote", model: "m" },
    };
    return {
      models: Object.fromEntries(
        this.models().map((name) => [name, { versions, labels: {}, default: "1", fallback: [] }]),
      ),
    };
  }

  setTraffic(model: string): void {
    if (!this.models().includes(model)) throw new ModelNotFoundError(model);
  }

  /** Snapshot holds not yet released (a front must release every hold it takes). */
  held = 0;

  hold(): () => void {
    this.held++;
    let released = false;
    return () => {
      if (!released) this.held--;
      released = true;
    };
  }

  async readiness(): Promise<{ ready: boolean; reasons: string[] }> {
    return { ready: this.readyAnswer, reasons: [] };
  }
}

/** A running front on 127.0.0.1 with a client connected to it. */
export interface Harness {
  /** The service the front reads on each RPC; assign to swap it (like a config reload). */
  service: FakeService;
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

/** Starts the front with a FakeService and connects a client allowing 4x bigger messages. */
export async function startHarness(): Promise<Harness> {
  const { methods } = kserveService();
  const h = { service: new FakeService() };
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
