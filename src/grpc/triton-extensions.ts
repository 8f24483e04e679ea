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
import { GRPC_STATUS, toGatewayError } from "../errors.js";
import type { InferenceApi } from "../gateway/types.js";
import type { DecodeLimits } from "../tensor/index.js";
import { EXTENSION_METHODS } from "../triton/grpc-proto.js";
import {
  modelConfiguration,
  modelStatistics,
  plainBigints,
  UNSUPPORTED_REASON,
} from "../triton/queries.js";
import { repositoryIndex } from "../triton/repository.js";
import { streamInfer } from "./stream-infer.js";

/** gRPC UNIMPLEMENTED. */
const UNIMPLEMENTED = 12;

type Unary = handleUnaryCall<Record<string, unknown>, unknown>;

function statusError(code: number, message: string): ServiceError {
  return Object.assign(new Error(message), { code, details: message, metadata: new Metadata() });
}

function unary(
  run: (request: Record<string, unknown>, metadata: Metadata) => Promise<unknown> | unknown,
  onInternalError?: (err: unknown, rpc: string) => void,
): Unary {
  return (call, callback) => {
    Promise.resolve()
      .then(() => run(call.request, call.metadata))
      .then(
        (res) => callback(null, res),
        (err: unknown) => {
          const e = toGatewayError(err);
          if (e.code === "INTERNAL") onInternalError?.(err, "triton-extension");
          callback(statusError(GRPC_STATUS[e.code], e.message));
        },
      );
  };
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");

/** The handlers of every extension RPC, reading `service` once per call. */
export function tritonExtensionHandlers(
  service: () => InferenceApi,
  options: {
    decodeLimits?: () => DecodeLimits;
    onInternalError?: (err: unknown, rpc: string) => void;
  },
): UntypedServiceImplementation {
  const header = (metadata: Metadata) => (name: string) => {
    const value = metadata.get(name.toLowerCase())[0];
    return typeof value === "string" ? value : undefined;
  };
  const handlers: UntypedServiceImplementation = {
    ModelConfig: unary(
      async (req, md) => ({
        config: await modelConfiguration(service(), text(req.name), text(req.version), header(md)),
      }),
      options.onInternalError,
    ),
    ModelStatistics: unary(
      (req) => ({
        model_stats: plainBigints(
          modelStatistics(service(), text(req.name), text(req.version)),
          true,
        ),
      }),
      options.onInternalError,
    ),
    RepositoryIndex: unary(
      async (req) => ({ models: await repositoryIndex(service(), req.ready === true) }),
      options.onInternalError,
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
