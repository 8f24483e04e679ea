/**
 * Backend statuses (HTTP and gRPC, PROTOCOLS.md) to the gateway's typed errors (SPEC 3): the
 * backend's bad-input answers become INVALID_REQUEST with its message; unavailability (503,
 * UNAVAILABLE, 429, connection refused) BACKEND_UNAVAILABLE; deadlines BACKEND_TIMEOUT; the rest
 * BACKEND_ERROR. Every adapter maps through here, so the same failure reads the same everywhere.
 */
import {
  BackendError,
  BackendTimeoutError,
  BackendUnavailableError,
  GatewayError,
  InvalidRequestError,
} from "../../errors.js";

/** gRPC status codes used below (grpc's status.proto). */
export const GrpcCode = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** An HTTP error answer of backend `backend` as a GatewayError. */
export function errorFromHttpStatus(
  backend: string,
  status: number,
  message: string,
): GatewayError {
  const text = message === "" ? `HTTP ${status}` : message;
  if (status === 400 || status === 422) return new InvalidRequestError(text);
  if (status === 408 || status === 504)
    return new BackendTimeoutError(`backend "${backend}" timed out: ${text}`);
  if (status === 429 || status === 503 || status === 507) {
    return new BackendUnavailableError(`backend "${backend}" unavailable: ${text}`);
  }
  return new BackendError(`backend "${backend}" answered ${status}: ${text}`);
}

/** A gRPC status from backend `backend` as a GatewayError. */
export function errorFromGrpcStatus(backend: string, code: number, details: string): GatewayError {
  switch (code) {
    case GrpcCode.INVALID_ARGUMENT:
    case GrpcCode.FAILED_PRECONDITION:
    case GrpcCode.OUT_OF_RANGE:
      return new InvalidRequestError(details);
    case GrpcCode.DEADLINE_EXCEEDED:
      return new BackendTimeoutError(`backend "${backend}" timed out: ${details}`);
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new BackendUnavailableError(`backend "${backend}" unavailable: ${details}`);
    default:
      return new BackendError(`backend "${backend}" failed (gRPC ${code}): ${details}`);
  }
}

/**
 * The error for a call that was aborted: the signal's reason when it is a GatewayError (the
 * deadline policy aborts with BackendTimeoutError), else a timeout.
 */
export function abortError(backend: string, signal: AbortSignal | undefined): GatewayError {
  const reason: unknown = signal?.reason;
  if (reason instanceof GatewayError) return reason;
  return new BackendTimeoutError(`call to backend "${backend}" was cancelled`);
}

/**
 * Settles as `promise` does, or rejects with abortError as soon as `signal` aborts, so a caller is
 * not held by work it no longer waits for (a shared fetch, a backend that ignores cancellation).
 */
export function settleByAbort<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  backend: string,
): Promise<T> {
  if (signal.aborted) return Promise.reject(abortError(backend, signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortError(backend, signal));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
