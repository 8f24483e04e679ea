/**
 * The KServe v2 gRPC front (docs/grpc.md): `inference.GRPCInferenceService` served with
 * @grpc/grpc-js on top of the InferenceApi (the inference part of the service).
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { AccessControl } from "../auth/access.js";
import { frontImplementation } from "../auth/grpc.js";
import { guardedGetter } from "../auth/guard-service.js";
import { callScope } from "../auth/principal.js";
import type { GrpcServerConfig } from "../config/schema.js";
import { pickRequestId } from "../gateway/request-id.js";
import type { InferenceApi, RequestContext, Route, ServiceGetter } from "../gateway/types.js";
import type { AccessLogger } from "../observability/access-log.js";
import {
  type KserveMethods,
  kserveService,
  type WireModelInferRequest,
} from "../protocols/kserve/proto.js";
import type { DecodeLimits } from "../tensor/index.js";
import { classifyResponse, grpcClassRequests } from "../triton/classification.js";
import { extensionDefinition } from "../triton/grpc-proto.js";
import { inferAsTriton } from "../triton/input-check.js";
import { grpcTensorParameters, wireSequenceKey } from "../triton/parameters.js";
import { resolveAsTriton } from "../triton/wording.js";
import { deadlineMs, headerLookup } from "./call-context.js";
import { decodeInferRequest, encodeInferResponse } from "./codec.js";
import { grpcFailure } from "./failure.js";
import { healthAndMetadataHandlers, type KserveHandler } from "./health-rpcs.js";
import { passSerialized, sendGuard } from "./send-guard.js";
import { DEFAULT_GRPC_LIMITS, grpcServerOptions } from "./server-options.js";
import { tritonExtensionHandlers } from "./triton-extensions.js";

/** Options of the gRPC front. */
export interface GrpcFrontOptions {
  /** Largest request and response message; bigger ones fail with RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /**
   * `server.grpc`: HTTP/2 stream, keepalive and connection limits, and what a client that does
   * not read its answers may hold (docs/grpc.md "Limits"); default: the schema's defaults.
   */
  limits?: GrpcServerConfig;
  /** Receives every non-GatewayError thrown by an RPC (clients only see "internal error"). */
  onInternalError?: (err: unknown, rpc: string) => void;
  /** The current `server.limits` (decoding bounds, docs/tensors.md "Limits"); absent = defaults. */
  decodeLimits?: () => DecodeLimits;
  /** Keys, tokens and rate limits (docs/access.md); absent = open to every caller. */
  access?: AccessControl;
  /** Writes one access line per call (docs/access.md "Access log"); absent = none. */
  accessLog?: AccessLogger;
}

/** A running (or not yet bound) gRPC front. */
export interface GrpcFront {
  server: Server;
  /** Binds and starts serving; resolves to the bound port (the real one when `port` is 0). */
  listen(host: string, port: number): Promise<number>;
  /** Stops taking calls, lets calls in flight finish for up to `graceMs`, then cuts them. */
  close(graceMs: number): Promise<void>;
}

type Handler<M extends keyof KserveMethods> = KserveHandler<M>;

/**
 * Creates the gRPC front. `service` is read once per RPC, so a config reload that swaps the
 * service takes effect on the next call while calls in flight keep theirs.
 */
export function createGrpcFront(given: () => InferenceApi, options: GrpcFrontOptions): GrpcFront {
  const service: ServiceGetter<InferenceApi> = options.access
    ? guardedGetter(given, options.access)
    : given;
  const limits = options.limits ?? DEFAULT_GRPC_LIMITS;
  const guard = sendGuard({
    sendTimeoutMs: limits.sendTimeoutMs,
    unread: {
      perConnection: limits.maxUnreadResponseBytes,
      total: limits.maxUnreadResponseBytesTotal,
    },
    onUnguarded: (err) => options.onInternalError?.(err, "send-guard"),
  });
  const server = new Server({
    ...grpcServerOptions(limits, options.maxMessageBytes),
    interceptors: [guard],
  });
  const fail = grpcFailure(options.onInternalError);

  const ModelInfer: Handler<"ModelInfer"> = (call, callback) => {
    const header = headerLookup(call.metadata);
    const requestId = pickRequestId(header("x-request-id"));
    const controller = new AbortController();
    const onCancelled = () => controller.abort();
    call.on("cancelled", onCancelled);
    if (call.cancelled) controller.abort();
    const scope = callScope(call);
    const context: RequestContext = {
      requestId,
      header,
      signal: controller.signal,
      controller,
      scope,
    };
    const deadline = deadlineMs(call);
    if (deadline !== undefined) context.clientDeadline = deadline;

    const run = async () => {
      const svc = service(scope);
      const release = svc.hold();
      let response: Awaited<ReturnType<typeof svc.infer>>;
      let request: ReturnType<typeof decodeInferRequest>["request"];
      let route: Route | undefined;
      let called = false;
      try {
        route = resolveAsTriton(
          svc,
          call.request.model_name,
          call.request.model_version || undefined,
          header,
          wireSequenceKey(call.request.parameters),
        );
        ({ request } = decodeInferRequest(call.request, options.decodeLimits?.()));
        const tensorParameters = grpcTensorParameters(call.request);
        if (tensorParameters !== undefined) request.tensorParameters = tensorParameters;
        dropWireTensors(call.request);
        called = true;
        response = await inferAsTriton(svc, route, request, context);
        response = classifyResponse(route, response, grpcClassRequests(call.request.outputs));
      } catch (err) {
        if (route !== undefined && !called) svc.refused(route, err);
        throw err;
      } finally {
        release();
      }
      // Always raw, whatever the request used: Triton does, and its clients read raw_output_contents.
      const body = encodeInferResponse(response, true, request.id, options.decodeLimits?.());
      const md = new Metadata();
      md.set("x-request-id", requestId);
      md.set("x-infergate-version", response.version);
      md.set("x-infergate-backend", response.backend);
      md.set("x-infergate-cache", response.cache);
      if (response.fallback) md.set("x-infergate-fallback", "true");
      return { body, md };
    };
    run()
      .then(
        ({ body, md }) => {
          call.sendMetadata(md);
          callback(null, body);
        },
        (err: unknown) => {
          // Built only for a failure: a success sends the id in its response metadata.
          const trailers = new Metadata();
          trailers.set("x-request-id", requestId);
          fail("ModelInfer", callback, err, trailers);
        },
      )
      .finally(() => call.off("cancelled", onCancelled));
  };

  const implementation: UntypedServiceImplementation = {
    ...healthAndMetadataHandlers(service, fail),
    ModelInfer,
  };
  server.addService(
    passSerialized(kserveService().definition),
    frontImplementation(implementation, options),
  );
  // Triton's extension RPCs (docs/triton.md), from Triton's own proto.
  server.addService(
    passSerialized(extensionDefinition()),
    frontImplementation(tritonExtensionHandlers(service, options), options),
  );

  return {
    server,
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
        server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        );
      }),
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}

/**
 * Lets go of the wire request's tensor bytes once decoded: grpc-js keeps the request object as
 * long as the call's stream is open, and an answer a client does not read keeps it open (up to
 * `sendTimeoutMs`), so without this each such call would hold its request as well as its answer.
 */
function dropWireTensors(wire: WireModelInferRequest): void {
  wire.raw_input_contents = [];
  for (const input of wire.inputs) input.contents = null;
}
