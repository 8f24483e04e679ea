/**
 * One JSON access-log line per request (docs/access.md "Access log"), HTTP and gRPC alike: request
 * id, tenant, model, version, backend, outcome code, latency, cache and fallback. Headers, bodies
 * and query strings are never logged, so keys and tokens cannot leak into the log.
 */
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import { status as grpcStatus } from "@grpc/grpc-js";
import type { MiddlewareHandler } from "hono";
import { callScope, type RequestScope } from "../auth/principal.js";
import { toGatewayError } from "../errors.js";
import type { AppEnv } from "../http/deps.js";
import { scopeOf } from "../http/scope.js";
import { onSettled, wrapUnary } from "./unary.js";

/** Where access lines go (pino's `info`). */
export interface AccessLogger {
  info(obj: object, msg?: string): void;
}

/** Codes for answers that carry no gateway error (the error handler's 404, a middleware's 429). */
const CODE_OF_STATUS: Readonly<Record<number, string>> = {
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  413: "PAYLOAD_TOO_LARGE",
  429: "RATE_LIMITED",
};

const GRPC_NAMES = new Map<number, string>(
  Object.entries(grpcStatus)
    .filter((e): e is [string, number] => typeof e[1] === "number")
    .map(([name, code]) => [code, name]),
);

function line(scope: RequestScope, started: number): Record<string, unknown> {
  return {
    tenant: scope.principal?.tenant ?? "",
    model: scope.model ?? null,
    version: scope.version ?? null,
    backend: scope.backend ?? null,
    cache: scope.cache ?? null,
    fallback: scope.fallback ?? false,
    latencyMs: Math.round((performance.now() - started) * 1000) / 1000,
  };
}

/** The HTTP middleware; mount it right after the request-id middleware. */
export function httpAccessLog(logger: AccessLogger): MiddlewareHandler<AppEnv> {
  return async function accessLog(c, next) {
    const started = performance.now();
    const scope = scopeOf(c);
    try {
      await next();
    } finally {
      const statusCode = c.res.status;
      const code =
        c.error !== undefined
          ? toGatewayError(c.error).code
          : statusCode < 400
            ? "OK"
            : (CODE_OF_STATUS[statusCode] ?? `HTTP_${statusCode}`);
      logger.info(
        {
          requestId: c.get("requestId") ?? scope.requestId,
          protocol: "http",
          method: c.req.method,
          path: c.req.path,
          status: statusCode,
          code,
          ...line(scope, started),
        },
        "request",
      );
    }
  };
}

/** `implementation` with one access line per unary call. */
export function grpcAccessLog(
  implementation: UntypedServiceImplementation,
  logger: AccessLogger,
): UntypedServiceImplementation {
  return wrapUnary(implementation, (rpc, unary) => (call, callback) => {
    const started = performance.now();
    const scope = callScope(call);
    const done = onSettled(callback, (code) => {
      const header = call.metadata.get("x-request-id").find((v) => typeof v === "string");
      logger.info(
        {
          requestId: scope.requestId ?? header ?? null,
          protocol: "grpc",
          method: rpc,
          status: code,
          code: GRPC_NAMES.get(code) ?? String(code),
          ...line(scope, started),
        },
        "request",
      );
    });
    unary(call, done);
  });
}
