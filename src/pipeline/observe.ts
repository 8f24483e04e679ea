/**
 * Counts every backend call by outcome in `infergate_backend_requests_total`. It sits innermost,
 * so retries and fallbacks (later policies) count once per real call.
 */
import { toGatewayError } from "../errors.js";
import type { Metrics } from "../metrics/registry.js";
import type { Policy } from "./types.js";

/** The outcome label of a failed backend call. */
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

/** Records each call's outcome under the target's backend name. */
export function observe(metrics: Metrics): Policy {
  return function observePolicy(next) {
    return async (request) => {
      try {
        const result = await next(request);
        metrics.backendRequests.inc({ backend: request.target.backend, outcome: "success" });
        return result;
      } catch (err) {
        metrics.backendRequests.inc({ backend: request.target.backend, outcome: outcomeOf(err) });
        throw err;
      }
    };
  };
}
