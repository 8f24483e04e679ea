/**
 * The fallback list (docs/resilience.md "Fallback"): the chosen target first, then each fallback in order,
 * while the failure is the backend's (never the client's bad input) and the request's deadline
 * has not passed.
 */
import type { BackendCall, BackendResult } from "../backends/types.js";
import { BackendUnavailableError, type GatewayError, toGatewayError } from "../errors.js";
import { isClientFault } from "../fault.js";
import type { TargetState } from "./targets.js";

/** What answered: the result, the target state and its place in the list (0 = primary). */
export interface FallbackAnswer {
  result: BackendResult;
  state: TargetState;
  index: number;
}

/**
 * Checks a request before one target of the list runs it (its metadata and the request's fit);
 * a backend's failure here moves on to the next target like a failed call does.
 */
export type BeforeTarget = (state: TargetState, index: number, last: boolean) => Promise<void>;

/** Runs the call on the first target that answers. */
export async function runWithFallback(
  targets: readonly TargetState[],
  call: BackendCall,
  before?: BeforeTarget,
): Promise<FallbackAnswer> {
  const errors: GatewayError[] = [];
  for (const [index, state] of targets.entries()) {
    if (call.signal.aborted) break;
    try {
      if (before !== undefined) await before(state, index, index === targets.length - 1);
      const result = await state.pipeline({ target: state.target, call });
      return { result, state, index };
    } catch (err) {
      const error = toGatewayError(err);
      if (isClientFault(error)) throw error;
      errors.push(error);
    }
  }
  throw fallbackError(targets, errors, call.signal);
}

function fallbackError(
  targets: readonly TargetState[],
  errors: GatewayError[],
  signal: AbortSignal,
): GatewayError {
  const reason: unknown = signal.reason;
  if (signal.aborted && reason !== undefined) return toGatewayError(reason);
  const last = errors[errors.length - 1];
  if (last === undefined) return new BackendUnavailableError("no target was tried");
  if (targets.length === 1) return last;
  // docs/api.md "Errors": target and every fallback down (or breaker open) is BACKEND_UNAVAILABLE.
  if (errors.every((e) => e.code === "BACKEND_UNAVAILABLE" || e.code === "OVERLOADED")) {
    const waits = errors
      .map((e) => e.retryAfterSeconds)
      .filter((s): s is number => s !== undefined);
    return new BackendUnavailableError(
      `target and every fallback unavailable: ${errors.map((e) => e.message).join("; ")}`,
      waits.length > 0 ? { retryAfterSeconds: Math.min(...waits) } : undefined,
    );
  }
  return last;
}
