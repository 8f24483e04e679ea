/**
 * Policies are composable wrappers `(next: InferFn) => InferFn`, like undici interceptors
 * (`dispatch => dispatch`): cache, batching, concurrency, retry, breaker, backend metrics and the
 * answer check each wrap the call to one backend target, in the order of
 * src/gateway/policies/index.ts. The deadline and the fallback list are request-level steps
 * around that chain (src/gateway/request-steps.ts), not policies.
 */
import type { BackendCall, BackendResult, TargetRef } from "../backends/types.js";

/** One call to one backend target. */
export interface TargetCall {
  target: TargetRef;
  call: BackendCall;
}

/** Runs one target call. */
export type InferFn = (request: TargetCall) => Promise<BackendResult>;

/** Wraps an InferFn with a behaviour. */
export type Policy = (next: InferFn) => InferFn;

/** Composes policies outermost first: `compose(a, b)(fn)` is `a(b(fn))`. */
export function compose(...policies: Policy[]): Policy {
  return (inner) => policies.reduceRight((next, policy) => policy(next), inner);
}
