/**
 * Triton's gRPC extension RPCs on the gateway's `inference.GRPCInferenceService` (docs/triton.md):
 * ModelConfig, ModelStatistics, RepositoryIndex and ModelStreamInfer; load/unload, shared memory,
 * trace and log settings answer UNIMPLEMENTED with the reason.
 */
import {
  type handleUnaryCall,
  Metadata,
  type ServiceError,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { callScope, type RequestScope } from "../auth/principal.js";
import type { InferenceApi, ServiceGetter } from "../gateway/types.js";
import type { DecodeLimits } from "../tensor/index.js";
import { EXTENSION_METHODS } from "../triton/grpc-proto.js";
import {
  modelConfiguration,
  modelStatistics,
  plainBigints,
  UNSUPPORTED_REASON,
} from "../triton/queries.js";
import { repositoryIndex } from "../triton/repository.js";
import { headerLookup } from "./call-context.js";
import { type GrpcFail, grpcFailure } from "./failure.js";
import { streamInfer } from "./stream-infer.js";

/** gRPC UNIMPLEMENTED. */
const UNIMPLEMENTED = 12;

type Unary = handleUnaryCall<Record<string, unknown>, unknown>;

function statusError(code: number, message: string): ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new Metadata() });
}

/** A unary extension RPC: `run`'s value is the answer, its throw goes through the front's encoder. */
function unary(
  rpc: string,
  run: (
    request: Record<string, unknown>,
    metadata: Metadata,
    scope: RequestScope,
  ) => Promise<unknown> | unknown,
  fail: GrpcFail,
): Unary {
  return (call, callback) => {
    Promise.resolve()
      .then(() => run(call.request, call.metadata, callScope(call)))
      .then(
        (res) => callback(null, res),
        (err: unknown) => fail(rpc, callback, err),
      );
  };
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** The handlers of every extension RPC, reading `service` once per call. */
export function tritonExtensionHandlers(
  service: ServiceGetter<InferenceApi>,
  options: {
    decodeLimits?: () => DecodeLimits;
    onInternalError?: (err: unknown, rpc: string) => void;
  },
): UntypedServiceImplementation {
  const fail = grpcFailure(options.onInternalError);
  const handlers: UntypedServiceImplementation = {
    ModelConfig: unary(
      "ModelConfig",
      async (req, md, scope) => ({
        config: await modelConfiguration(
          service(scope),
          text(req.name),
          text(req.version),
          headerLookup(md),
        ),
      }),
      fail,
    ),
    ModelStatistics: unary(
      "ModelStatistics",
      (req, _md, scope) => ({
        model_stats: plainBigints(
          modelStatistics(service(scope), text(req.name), text(req.version)),
          true,
        ),
      }),
      fail,
    ),
    RepositoryIndex: unary(
      "RepositoryIndex",
      async (req, _md, scope) => ({
        models: await repositoryIndex(service(scope), req.ready === true),
      }),
      fail,
    ),
    ModelStreamInfer: streamInfer(service, options),
  };
  const reasons: Record<string, string> = {
    RepositoryModelLoad: UNSUPPORTED_REASON.repository,
    RepositoryModelUnload: UNSUPPORTED_REASON.repository,
    TraceSetting: UNSUPPORTED_REASON.trace,
    LogSettings: UNSUPPORTED_REASON.logging,
  };
  for (const name of EXTENSION_METHODS) {
    if (handlers[name] !== undefined) continue;
    const reason = reasons[name] ?? UNSUPPORTED_REASON.sharedMemory;
    handlers[name] = ((_call, callback) =>
      callback(statusError(UNIMPLEMENTED, reason))) satisfies Unary;
  }
  return handlers;
}
