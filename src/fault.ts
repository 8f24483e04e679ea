/**
 * Whose fault a failure is — the one place that decides it. The fallback list, the metadata
 * catalog, the batcher, the breaker, backend metrics and rollouts all ask here, so a new error code
 * is sorted once (docs/resilience.md "Fallback", "Circuit breaker").
 */
import { type ErrorCode, GatewayError, toGatewayError } from "./errors.js";

/**
 * True when the client's request is at fault (bad input): another target would refuse it too, so
 * nothing moves on to a fallback and no target or rollout is blamed.
 */
export function isClientFault(err: unknown): boolean {
  return toGatewayError(err).code === "INVALID_REQUEST";
}

/** Failures that say the target is unwell. */
const TARGET_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "BACKEND_UNAVAILABLE",
  "BACKEND_TIMEOUT",
  "BACKEND_ERROR",
  "INTERNAL",
]);

/**
 * True when a failed call counts against the target (the breaker's error rate): only server-side
 * codes do; our own OVERLOADED and the client's bad input never do. A call cut short by the client
 * going away says nothing about the target; one cut by the deadline is a timeout.
 */
export function countsAgainstTarget(err: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted === true && !(signal.reason instanceof GatewayError)) return false;
  return TARGET_FAULTS.has(err instanceof GatewayError ? err.code : "INTERNAL");
}

/** The `outcome` label of a failed backend call in `infergate_backend_requests_total`. */
export function outcomeOf(err: unknown): string {
  switch (toGatewayError(err).code) {
    case "INVALID_REQUEST":
      return "client_error";
    case "BACKEND_TIMEOUT":
      return "timeout";
    case "BACKEND_UNAVAILABLE":
    case "OVERLOADED":
      return "unavailable";
    default:
      return "error";
  }
}
