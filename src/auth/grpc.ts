/**
 * The gRPC front's access check (docs/access.md): every RPC but ServerLive and ServerReady (the
 * health probes) needs `authorization: Bearer <key>` (or `x-api-key`) metadata. The caller is then
 * the call's request scope (callScope), so model checks and per-model limits apply as on HTTP.
 */
import {
  Metadata,
  type ServerDuplexStream,
  type ServiceError,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { GRPC_STATUS, RateLimitedError, retryAfterValue, toGatewayError } from "../errors.js";
import { type AccessLogger, grpcAccessLog } from "../observability/access-log.js";
import { grpcTracing } from "../observability/trace-front.js";
import { type Unary, wrapUnary } from "../observability/unary.js";
import { type AccessControl, ANONYMOUS } from "./access.js";
import { callScope } from "./principal.js";
import { rateLimitHeaders } from "./rate-limit.js";

const OPEN_RPCS = new Set(["ServerLive", "ServerReady"]);

/** Trailers for a failed call: `retry-after` and the `ratelimit-*` values of a rate limit. */
export function limitTrailers(err: unknown, metadata: Metadata): void {
  if (!(err instanceof RateLimitedError)) return;
  for (const [name, value] of rateLimitHeaders(err.rateLimit)) metadata.set(name, value);
}

/** `implementation` behind the access check (when given), inside the access log (when given). */
export function frontImplementation(
  implementation: UntypedServiceImplementation,
  options: { access?: AccessControl | undefined; accessLog?: AccessLogger | undefined },
): UntypedServiceImplementation {
  const guarded =
    options.access === undefined
      ? implementation
      : guardImplementation(implementation, options.access);
  const traced = grpcTracing(guarded);
  return options.accessLog === undefined ? traced : grpcAccessLog(traced, options.accessLog);
}

/** The streaming RPCs of the fronts (bidirectional: one handler argument, the call). */
const STREAM_RPCS = ["ModelStreamInfer"];

/** `implementation` with every unary and streaming handler behind the access check. */
export function guardImplementation(
  implementation: UntypedServiceImplementation,
  access: AccessControl,
): UntypedServiceImplementation {
  const guarded = wrapUnary(implementation, (rpc, unary) => guardUnary(rpc, unary, access));
  for (const rpc of STREAM_RPCS) {
    const stream = implementation[rpc];
    if (typeof stream === "function") {
      guarded[rpc] = guardStream(stream as (call: Duplex) => void, access);
    }
  }
  return guarded;
}

type Duplex = ServerDuplexStream<unknown, unknown>;

/**
 * A stream authenticates once, from its metadata, before its handler sees a message (a readable
 * stream holds its data until a listener is attached). Every request on the stream then gets the
 * model check and the model's rate limit of the stream's caller, as a unary call.
 */
function guardStream(
  stream: (call: Duplex) => void,
  access: AccessControl,
): (call: Duplex) => void {
  return (call) => {
    if (!access.enabled) {
      callScope(call).principal = ANONYMOUS;
      stream(call);
      return;
    }
    authenticateCall(access, call).then(
      ({ principal }) => {
        callScope(call).principal = principal;
        stream(call);
      },
      (err: unknown) => call.emit("error", failureOf(err)),
    );
  };
}

/** Authenticates a call from its `authorization` / `x-api-key` metadata and its peer address. */
function authenticateCall(
  access: AccessControl,
  call: { metadata: Metadata; getPeer(): string },
): ReturnType<AccessControl["authenticate"]> {
  const first = (name: string) => call.metadata.get(name).find((v) => typeof v === "string");
  return access.authenticate(
    {
      authorization: first("authorization") as string | undefined,
      apiKey: first("x-api-key") as string | undefined,
    },
    call.getPeer().replace(/:\d+$/, ""),
  );
}

/** The gRPC error of a refused call, with its rate-limit trailers. */
function failureOf(err: unknown): ServiceError {
  const error = toGatewayError(err);
  const metadata = new Metadata();
  const retryAfter = retryAfterValue(error);
  if (retryAfter !== undefined) metadata.set("retry-after", retryAfter);
  limitTrailers(error, metadata);
  return Object.assign(new Error(error.message), {
    code: GRPC_STATUS[error.code],
    details: error.message,
    metadata,
  });
}

function guardUnary(rpc: string, unary: Unary, access: AccessControl): Unary {
  return (call, callback) => {
    if (!access.enabled || OPEN_RPCS.has(rpc)) {
      callScope(call).principal = ANONYMOUS;
      unary(call, callback);
      return;
    }
    authenticateCall(access, call).then(
      ({ principal }) => {
        callScope(call).principal = principal;
        unary(call, callback);
      },
      (err: unknown) => callback(failureOf(err)),
    );
  };
}
