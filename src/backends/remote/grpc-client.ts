/**
 * gRPC plumbing shared by the remote adapters: one channel per backend address (grpc-js shares
 * channels between clients made with the same options), unary calls as promises with the
 * request's deadline and cancellation, and statuses mapped to typed errors.
 */
import * as grpc from "@grpc/grpc-js";
import { abortError } from "../../abort.js";
import { BackendError } from "../../errors.js";
import { traceInterceptor } from "../../observability/grpc-client.js";
import { errorFromGrpcStatus } from "./errors.js";
import { guardAnswerEntries } from "./grpc-guard.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "./http-client.js";

/** Largest request message the gateway sends a backend (batches may exceed one request's limit). */
const MAX_SEND_BYTES = 256 * 1024 * 1024;

/**
 * Options of every client the gateway opens to a backend. `maxResponseBytes` (the backend's
 * `maxResponseBytes`) caps an answer message: grpc-js refuses a larger one as it arrives
 * (RESOURCE_EXHAUSTED, mapped to BACKEND_ERROR by the caller) instead of buffering it whole.
 */
export function channelOptions(maxResponseBytes = DEFAULT_MAX_RESPONSE_BYTES): grpc.ChannelOptions {
  return {
    "grpc.max_receive_message_length": maxResponseBytes,
    "grpc.max_send_message_length": MAX_SEND_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    // Fail fast on a dead backend instead of waiting for reconnection until the deadline.
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2_000,
    // A client span and traceparent per call while tracing is on (docs/access.md "Tracing").
    interceptors: [traceInterceptor],
  };
}

/**
 * A client of `definition` at `address` whose answers to `method` are bounded before decoding:
 * at most `maxEntries` entries in each of the repeated or map `fields` (guardAnswerEntries), and
 * `maxResponseBytes` in all.
 */
export function guardedClient(
  definition: grpc.ServiceDefinition,
  serviceName: string,
  address: string,
  answer: { method: string; fields: readonly number[]; maxEntries: number },
  maxResponseBytes?: number,
): grpc.Client {
  const guarded = guardAnswerEntries(definition, answer.method, answer.fields, answer.maxEntries);
  const Client = grpc.makeGenericClientConstructor(guarded, serviceName);
  return new Client(address, grpc.credentials.createInsecure(), channelOptions(maxResponseBytes));
}

/** grpc-js's details when an answer passes max_receive_message_length. */
const TOO_LARGE = /^Received message larger than max/;

/** Per-call settings. */
export interface UnaryOptions {
  deadline: number;
  signal?: AbortSignal;
  metadata?: Record<string, string>;
  /** Sent as `x-request-id` metadata (see BackendCall.requestId). */
  requestId?: string | undefined;
}

/** A grpc-js unary method as loaded by @grpc/proto-loader. */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

/**
 * Calls `method` on `client`; resolves with the answer or rejects with a GatewayError
 * (statuses mapped by errorFromGrpcStatus, a cancelled call by the signal's reason).
 */
export function unaryCall<Req, Res>(
  backend: string,
  client: grpc.Client,
  method: string,
  request: Req,
  options: UnaryOptions,
): Promise<Res> {
  const fn = (client as unknown as Record<string, UnaryMethod<Req, Res> | undefined>)[method];
  if (typeof fn !== "function")
    return Promise.reject(new Error(`gRPC client has no method ${method}`));
  if (options.signal?.aborted || options.deadline <= Date.now()) {
    return Promise.reject(abortError(backend, options.signal));
  }
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
  if (options.requestId !== undefined) metadata.set("x-request-id", options.requestId);
  return new Promise<Res>((resolve, reject) => {
    const onAbort = () => call.cancel();
    const call = fn.call(
      client,
      request,
      metadata,
      { deadline: options.deadline },
      (err, response) => {
        options.signal?.removeEventListener("abort", onAbort);
        if (err === null && response !== undefined) {
          resolve(response);
          return;
        }
        if (err !== null && err.code === grpc.status.CANCELLED && options.signal?.aborted) {
          reject(abortError(backend, options.signal));
          return;
        }
        if (err === null) reject(new Error("gRPC call ended without an answer"));
        else if (err.code === grpc.status.RESOURCE_EXHAUSTED && TOO_LARGE.test(err.details)) {
          // The gateway's own receive cap, not the backend being overloaded.
          reject(
            new BackendError(
              `backend "${backend}" answer exceeds the backend's maxResponseBytes: ${err.details}`,
            ),
          );
        } else reject(errorFromGrpcStatus(backend, err.code, err.details));
      },
    );
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Closes a client's channel. */
export function closeClient(client: grpc.Client): void {
  client.close();
}
