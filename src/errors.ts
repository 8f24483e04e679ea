/**
 * Typed gateway errors with the stable codes of docs/api.md "Errors". Every front (unified HTTP, KServe v2
 * REST, KServe v2 gRPC) turns these into responses in exactly one place each.
 */

import { GrpcCode } from "./grpc-status.js";

/** The stable error codes of docs/api.md "Errors". */
export type ErrorCode =
  | "INVALID_REQUEST"
  | "MODEL_NOT_FOUND"
  | "VERSION_NOT_FOUND"
  | "PAYLOAD_TOO_LARGE"
  | "OVERLOADED"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TIMEOUT"
  | "BACKEND_ERROR"
  | "INTERNAL"
  | "JOB_NOT_FOUND"
  | "UNAUTHENTICATED"
  | "PERMISSION_DENIED"
  | "RATE_LIMITED";

/** HTTP status for each code (docs/api.md "Errors"). */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_REQUEST: 400,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  PAYLOAD_TOO_LARGE: 413,
  OVERLOADED: 503,
  BACKEND_UNAVAILABLE: 503,
  BACKEND_TIMEOUT: 504,
  BACKEND_ERROR: 502,
  INTERNAL: 500,
  JOB_NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  RATE_LIMITED: 429,
};

/**
 * gRPC status code numbers (from grpc's status.proto) for each error code, so the gRPC front
 * needs no table of its own. RESOURCE_EXHAUSTED for OVERLOADED mirrors Envoy's local rate limit.
 */
export const GRPC_STATUS: Readonly<Record<ErrorCode, number>> = {
  INVALID_REQUEST: GrpcCode.INVALID_ARGUMENT,
  MODEL_NOT_FOUND: GrpcCode.NOT_FOUND,
  VERSION_NOT_FOUND: GrpcCode.NOT_FOUND,
  PAYLOAD_TOO_LARGE: GrpcCode.RESOURCE_EXHAUSTED,
  OVERLOADED: GrpcCode.RESOURCE_EXHAUSTED,
  BACKEND_UNAVAILABLE: GrpcCode.UNAVAILABLE,
  BACKEND_TIMEOUT: GrpcCode.DEADLINE_EXCEEDED,
  BACKEND_ERROR: GrpcCode.INTERNAL,
  INTERNAL: GrpcCode.INTERNAL,
  JOB_NOT_FOUND: GrpcCode.NOT_FOUND,
  UNAUTHENTICATED: GrpcCode.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcCode.PERMISSION_DENIED,
  RATE_LIMITED: GrpcCode.RESOURCE_EXHAUSTED,
};

/**
 * The `Retry-After` value of an error, formatted once for every front (HTTP header, gRPC trailer):
 * whole seconds, rounded up so a client never comes back early.
 */
export function retryAfterValue(error: GatewayError): string | undefined {
  const seconds = error.retryAfterSeconds;
  return seconds === undefined ? undefined : String(Math.max(0, Math.ceil(seconds)));
}

/** Base class of every error the gateway reports to a client. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  /** Seconds for a `Retry-After` header, when the client should come back later. */
  readonly retryAfterSeconds: number | undefined;
  /** One line per problem (e.g. `traffic[0].weight: ...`), sent as `error.details` by the unified front. */
  readonly details: readonly string[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number; details?: readonly string[] },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.details = options?.details;
  }

  /** The HTTP status docs/api.md "Errors" gives this error's code. */
  get status(): number {
    return HTTP_STATUS[this.code];
  }
}

/** Malformed JSON, wrong shape or datatype, unknown input name, ragged arrays. */
export class InvalidRequestError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown; details?: readonly string[] }) {
    super("INVALID_REQUEST", message, options);
  }
}

/** No model of that name. */
export class ModelNotFoundError extends GatewayError {
  constructor(model: string) {
    super("MODEL_NOT_FOUND", `model "${model}" not found`);
  }
}

/** No version or label of that name. */
export class VersionNotFoundError extends GatewayError {
  constructor(model: string, version: string) {
    super("VERSION_NOT_FOUND", `model "${model}" has no version or label "${version}"`);
  }
}

/** Body over `server.bodyLimitBytes`. */
export class PayloadTooLargeError extends GatewayError {
  constructor(limit: number) {
    super("PAYLOAD_TOO_LARGE", `request body exceeds ${limit} bytes`);
  }
}

/** Queue full or shedding load. */
export class OverloadedError extends GatewayError {
  constructor(message: string, retryAfterSeconds = 1) {
    super("OVERLOADED", message, { retryAfterSeconds });
  }
}

/** Target and every fallback down, or breaker open. */
export class BackendUnavailableError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super("BACKEND_UNAVAILABLE", message, options);
  }
}

/** The request's deadline passed. */
export class BackendTimeoutError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("BACKEND_TIMEOUT", message, options);
  }
}

/** The backend answered with an error the client did not cause. */
export class BackendError extends GatewayError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("BACKEND_ERROR", message, options);
  }
}

/** No async job of that id (never made, another tenant's, or past its result TTL). */
export class JobNotFoundError extends GatewayError {
  constructor(id: string) {
    super("JOB_NOT_FOUND", `job "${id}" not found`);
  }
}

/** No key, or a key or token that does not verify (docs/access.md). */
export class UnauthenticatedError extends GatewayError {
  constructor(message = "missing or invalid credentials") {
    super("UNAUTHENTICATED", message);
  }
}

/** A valid key that may not use this model or route. */
export class PermissionDeniedError extends GatewayError {
  constructor(message: string) {
    super("PERMISSION_DENIED", message);
  }
}

/** The state of the rate limit that refused a request, for the `RateLimit-*` headers. */
export interface RateLimitState {
  limit: number;
  remaining: number;
  /** Seconds until the bucket has room again (whole, at least 1 when refused). */
  resetSeconds: number;
}

/** Over a per-key, per-model or failed-authentication rate limit. */
export class RateLimitedError extends GatewayError {
  readonly rateLimit: RateLimitState;
  constructor(message: string, rateLimit: RateLimitState) {
    super("RATE_LIMITED", message, { retryAfterSeconds: rateLimit.resetSeconds });
    this.rateLimit = rateLimit;
  }
}

/** A bug. The message reaching clients is generic; the cause goes to the log. */
export class InternalError extends GatewayError {
  constructor(cause?: unknown) {
    super("INTERNAL", "internal error", { cause });
  }
}

/** Any thrown value as a GatewayError; unknown throwables become INTERNAL (never a stack trace). */
export function toGatewayError(err: unknown): GatewayError {
  return err instanceof GatewayError ? err : new InternalError(err);
}
