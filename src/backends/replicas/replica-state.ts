/**
 * One replica's place in the rotation (replica-set.ts holds the set): active, ejected after
 * consecutive server-side failures, or on probation after its ejection ended, with the Envoy-style
 * multiplier that lengthens repeated ejections and decays while the replica stays in rotation.
 */
import type { OutlierDetectionConfig } from "../../config/schema.js";
import type { BackendAdapter } from "../types.js";
import { type CallOutcome, ejectionMs } from "./outlier.js";

/** One replica's state, for the admin API. */
export interface ReplicaSnapshot {
  address: string;
  /** Inference calls in flight to it. */
  outstanding: number;
  /** Server-side failures in a row since its last success (or re-admission). */
  consecutiveFailures: number;
  /** ISO time its current ejection ends; null when it is in rotation. */
  ejectedUntil: string | null;
  /** Ejections since the set was built. */
  timesEjected: number;
  /** Re-admitted after an ejection and not yet proven: its next call decides. */
  probation: boolean;
}

export type ReplicaState = "active" | "probation" | "ejected";

/** One replica and its rotation state. */
export interface Replica {
  readonly address: string;
  readonly adapter: BackendAdapter;
  outstanding: number;
  consecutiveFailures: number;
  state: ReplicaState;
  ejectedAt: number;
  ejectedUntil: number;
  timesEjected: number;
  /** The n of the next ejection's base × n; decays while the replica stays in rotation. */
  multiplier: number;
  /** When it last came (back) into rotation; the multiplier decays from here. */
  inRotationSince: number;
  /** Bumped on every ejection and re-admission, so calls started before one are not counted after. */
  generation: number;
  /** A probation call is in flight: further calls go elsewhere until it decides. */
  probing: boolean;
}

/** A replica in rotation since `start`. */
export function newReplica(address: string, adapter: BackendAdapter, start: number): Replica {
  return {
    address,
    adapter,
    outstanding: 0,
    consecutiveFailures: 0,
    state: "active",
    ejectedAt: Number.NEGATIVE_INFINITY,
    ejectedUntil: Number.NEGATIVE_INFINITY,
    timesEjected: 0,
    multiplier: 0,
    inRotationSince: start,
    generation: 0,
    probing: false,
  };
}

/** In rotation and not holding back for a probation call in flight. */
export function available(replica: Replica): boolean {
  return replica.state === "active" || (replica.state === "probation" && !replica.probing);
}

/** Puts a replica whose ejection has ended back into rotation, on probation. */
export function readmitIfDue(replica: Replica, now: number): void {
  if (replica.state !== "ejected" || now < replica.ejectedUntil) return;
  replica.state = "probation";
  replica.probing = false;
  replica.consecutiveFailures = 0;
  replica.inRotationSince = replica.ejectedUntil;
  replica.generation++;
}

/**
 * What one call's outcome does to its replica; `eject` is asked when it should leave the
 * rotation (the set may refuse, past its ejection cap).
 */
export function recordOutcome(
  replica: Replica,
  outcome: Exclude<CallOutcome, "neutral">,
  now: number,
  threshold: number,
  eject: (replica: Replica) => void,
): void {
  switch (replica.state) {
    case "ejected":
      // A call sent while every replica was out: success proves this one back.
      if (outcome === "success") restore(replica, now);
      return;
    case "probation":
      if (outcome === "success") {
        replica.state = "active";
        replica.consecutiveFailures = 0;
      } else {
        replica.consecutiveFailures++;
        eject(replica);
      }
      return;
    case "active":
      if (outcome === "success") {
        replica.consecutiveFailures = 0;
      } else if (++replica.consecutiveFailures >= threshold) {
        // When the ejection cap refuses, the count stays over the threshold so the next failure
        // tries again (another replica may have come back by then).
        eject(replica);
      }
      return;
  }
}

/** Takes a replica out of rotation for its next ejection time. */
export function ejectReplica(replica: Replica, now: number, config: OutlierDetectionConfig): void {
  // Like Envoy, the multiplier falls by one for every base period spent in rotation, so a
  // replica that failed long ago is not punished with the longest ejection forever.
  const decay = Math.floor((now - replica.inRotationSince) / config.baseEjectionTimeMs);
  replica.multiplier = Math.max(0, replica.multiplier - decay) + 1;
  replica.timesEjected++;
  replica.state = "ejected";
  replica.probing = false;
  replica.ejectedAt = now;
  replica.ejectedUntil = now + ejectionMs(config, replica.multiplier);
  replica.generation++;
}

function restore(replica: Replica, now: number): void {
  replica.state = "active";
  replica.consecutiveFailures = 0;
  replica.inRotationSince = now;
  replica.generation++;
}

/** A replica's state as the admin API shows it. */
export function snapshotOf(r: Replica): ReplicaSnapshot {
  return {
    address: r.address,
    outstanding: r.outstanding,
    consecutiveFailures: r.consecutiveFailures,
    ejectedUntil: r.state === "ejected" ? new Date(r.ejectedUntil).toISOString() : null,
    timesEjected: r.timesEjected,
    probation: r.state === "probation",
  };
}
