/**
 * The gRPC front's access check (docs/access.md): every RPC but ServerLive and ServerReady (the
 * health probes) needs `authorization: Bearer <key>` (or `x-api-key`) metadata. The handler then
 * runs as the caller, so model checks and per-model limits apply as on HTTP.
 */
import { Metadata, type ServiceError, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { GRPC_STATUS, RateLimitedError, toGatewayError } from "../errors.js";
import { type AccessLogger, grpcAccessLog } from "../observability/access-log.js";
import { grpcTracing } from "../observability/trace-front.js";
import { type Unary, wrapUnary } from "../observability/unary.js";
import { type AccessControl, ANONYMOUS } from "./access.js";
import { runAs } from "./principal.js";
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

/** `implementation` with every unary handler behind the access check. */
export function guardImplementation(
  implementation: UntypedServiceImplementation,
  access: AccessControl,
): UntypedServiceImplementation {
  return wrapUnary(implementation, (rpc, unary) => guardUnary(rpc, unary, access));
}

function guardUnary(rpc: string, unary: Unary, access: AccessControl): Unary {
  return (call, callback) => {
    if (!access.enabled || OPEN_RPCS.has(rpc)) {
      runAs(ANONYMOUS, () => unary(call, callback));
      return;
    }
    const first = (name: string) => call.metadata.get(name).find((v) => typeof v === "string");
    access
      .authenticate(
        {
          authorization: first("authorization") as string | undefined,
          apiKey: first("x-api-key") as string | undefined,
        },
        call.getPeer().replace(/:\d+$/, ""),
      )
      .then(
        ({ principal }) => runAs(principal, () => unary(call, callback)),
        (err: unknown) => {
          const error = toGatewayError(err);
          const metadata = new Metadata();
          if (error.retryAfterSeconds !== undefined) {
            metadata.set("retry-after", String(error.retryAfterSeconds));
          }
          limitTrailers(error, metadata);
          const failure: ServiceError = Object.assign(new Error(error.message), {
            code: GRPC_STATUS[error.code],
            details: error.message,
            metadata,
          });
          callback(failure);
        },
      );
  };
}
