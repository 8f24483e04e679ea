/**
 * The outlier-ejection rules a ReplicaSet applies, kept pure so each can be checked alone: what a
 * call's outcome says about the replica, how long an ejection lasts, and whether one more replica
 * may be ejected. They follow Envoy's consecutive-5xx outlier detection.
 */
import type { OutlierDetectionConfig } from "../../config/schema.js";
import { type ErrorCode, toGatewayError } from "../../errors.js";
import type { BackendCall } from "../types.js";

/**
 * What one finished call says about its replica: `failure` counts toward ejection, `success`
 * resets the count (and ends probation), `neutral` changes nothing.
 */
export type CallOutcome = "success" | "failure" | "neutral";

/** Server-side failures: the replica could not do its job. */
const SERVER_SIDE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "BACKEND_UNAVAILABLE",
  "BACKEND_TIMEOUT",
  "BACKEND_ERROR",
  "INTERNAL",
]);

/** True for the error codes that count against a replica (and for fallback to other replicas). */
export function isServerSideFailure(err: unknown): boolean {
  return SERVER_SIDE.has(toGatewayError(err).code);
}

/**
 * The outcome of a call that threw `err`. `nowEpoch` is the Date.now() clock the call's deadline
 * is on.
 */
export function outcomeOf(err: unknown, call: BackendCall, nowEpoch: number): CallOutcome {
  // The caller giving up before its deadline (client gone, shutdown) says nothing about the replica.
  if (call.signal.aborted && nowEpoch < call.deadline) return "neutral";
  if (isServerSideFailure(err)) return "failure";
  // OVERLOADED is load, not a fault; counting it would eject replicas exactly when capacity is short.
  if (toGatewayError(err).code === "OVERLOADED") return "neutral";
  // A client error (bad input, unknown model) is a proper answer: the replica is alive and well.
  return "success";
}

/**
 * How long the `multiplier`-th ejection in a row lasts: base × multiplier, capped at
 * maxEjectionTimeMs, or at the base when that is longer (Envoy's `max_ejection_time` rule).
 */
export function ejectionMs(config: OutlierDetectionConfig, multiplier: number): number {
  const cap = Math.max(config.maxEjectionTimeMs, config.baseEjectionTimeMs);
  return Math.min(config.baseEjectionTimeMs * Math.max(1, multiplier), cap);
}

/**
 * Whether one more of `total` replicas may be ejected while `ejected` already are: never beyond
 * maxEjectionPercent, except that with two or more replicas the first ejection is always allowed
 * (Envoy ejects a host when none is ejected, whatever the percentage).
 */
export function mayEject(ejected: number, total: number, maxEjectionPercent: number): boolean {
  if (ejected >= total) return false;
  if (ejected === 0 && total >= 2) return true;
  return ((ejected + 1) * 100) / total <= maxEjectionPercent;
}
