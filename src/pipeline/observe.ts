/**
 * Counts every backend call by outcome in `infergate_backend_requests_total`. It sits innermost,
 * so retries and fallbacks (later policies) count once per real call.
 */
import { outcomeOf } from "../fault.js";
import type { Metrics } from "../metrics/registry.js";
import type { Policy } from "./types.js";

/** Records each call's outcome under the target's backend name. */
export function observe(metrics: Metrics): Policy {
  // Labelled children bound once per (backend, outcome): cheaper than labelling every call.
  const children = new Map<string, { inc(): void }>();
  const count = (backend: string, outcome: string) => {
    const key = `${backend}\u0000${outcome}`;
    let child = children.get(key);
    if (child === undefined) {
      child = metrics.backendRequests.labels({ backend, outcome });
      children.set(key, child);
    }
    child.inc();
  };
  return function observePolicy(next) {
    return async (request) => {
      try {
        const result = await next(request);
        count(request.target.backend, "success");
        return result;
      } catch (err) {
        count(request.target.backend, outcomeOf(err));
        throw err;
      }
    };
  };
}
