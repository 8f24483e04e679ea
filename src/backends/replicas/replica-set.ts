/**
 * Several replicas of one backend server behind one BackendAdapter: least-outstanding-calls load
 * balancing with Envoy-style consecutive-failure outlier ejection and probation on re-admission.
 */

import type { OutlierDetectionConfig } from "../../config/schema.js";
import { sequenceReplica } from "../../triton/parameters.js";
import type {
  BackendAdapter,
  BackendCall,
  BackendResult,
  BackendType,
  ModelMetadata,
  TargetRef,
} from "../types.js";
import { type CallOutcome, isServerSideFailure, mayEject, outcomeOf } from "./outlier.js";
import {
  available,
  ejectReplica,
  newReplica,
  type Replica,
  type ReplicaSnapshot,
  readmitIfDue,
  recordOutcome,
  snapshotOf,
} from "./replica-state.js";

/** One replica: its address (as configured) and the adapter connected to it. */
export interface ReplicaEndpoint {
  address: string;
  adapter: BackendAdapter;
}

/** Options of a ReplicaSet. */
export interface ReplicaSetOptions {
  /** Called when a replica is ejected (for `infergate_replica_ejections_total`). */
  onEject?: (address: string) => void;
  /** Clock for ejection times, ms; default Date.now. */
  now?: () => number;
}

/** A BackendAdapter over several replicas of the same server. */
export class ReplicaSet implements BackendAdapter {
  readonly name: string;
  readonly type: BackendType;
  private readonly replicas: Replica[];
  private readonly now: () => number;
  private readonly onEject: ((address: string) => void) | undefined;
  /** Where the next least-outstanding scan starts, so ties go round robin. */
  private cursor = 0;

  constructor(
    endpoints: readonly ReplicaEndpoint[],
    private readonly config: OutlierDetectionConfig,
    options: ReplicaSetOptions = {},
  ) {
    const first = endpoints[0];
    if (first === undefined) throw new Error("a replica set needs at least one replica");
    this.name = first.adapter.name;
    this.type = first.adapter.type;
    this.now = options.now ?? Date.now;
    this.onEject = options.onEject;
    const start = this.now();
    this.replicas = endpoints.map(({ address, adapter }) => newReplica(address, adapter, start));
  }

  async infer(target: TargetRef, call: BackendCall): Promise<BackendResult> {
    // A sequence stays on one replica, which holds its state (docs/triton.md).
    const affine = sequenceReplica(call.parameters, this.replicas.length);
    const replica = (affine === undefined ? undefined : this.replicas[affine]) ?? this.pick();
    const generation = replica.generation;
    const probe = replica.state === "probation" && !replica.probing;
    if (probe) replica.probing = true;
    replica.outstanding++;
    try {
      const result = await replica.adapter.infer(target, call);
      this.record(replica, generation, probe, "success");
      return result;
    } catch (err) {
      this.record(replica, generation, probe, outcomeOf(err, call, Date.now()));
      throw err;
    } finally {
      replica.outstanding--;
    }
  }

  /** Asks replicas in preference order; a server-side failure moves on to the next one. */
  async metadata(target: TargetRef): Promise<ModelMetadata> {
    let lastError: unknown;
    for (const replica of this.preferenceOrder()) {
      try {
        return await replica.adapter.metadata(target);
      } catch (err) {
        // Replicas serve the same models: a client error (unknown model) is the answer everywhere.
        if (!isServerSideFailure(err)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  /** True when any replica says the model is ready; throws only when no replica could answer. */
  async ready(target: TargetRef): Promise<boolean> {
    let answered = false;
    let lastError: unknown;
    for (const replica of this.preferenceOrder()) {
      try {
        if (await replica.adapter.ready(target)) return true;
        answered = true;
      } catch (err) {
        lastError = err;
      }
    }
    if (answered) return false;
    throw lastError;
  }

  /** True when any replica is live. */
  async health(): Promise<boolean> {
    for (const replica of this.preferenceOrder()) {
      if (await replica.adapter.health().catch(() => false)) return true;
    }
    return false;
  }

  /** Closes every replica's adapter, even when one fails to close. */
  async close(): Promise<void> {
    const results = await Promise.allSettled(this.replicas.map((r) => r.adapter.close()));
    const failed = results.find((r) => r.status === "rejected");
    if (failed !== undefined) throw failed.reason;
  }

  /** Every replica's state, in configured order. */
  snapshot(): ReplicaSnapshot[] {
    this.readmitDue(this.now());
    return this.replicas.map(snapshotOf);
  }

  /** The available replica with the fewest calls in flight; ties go round robin. */
  private pick(): Replica {
    this.readmitDue(this.now());
    const n = this.replicas.length;
    let best: Replica | undefined;
    let bestIndex = 0;
    for (let k = 0; k < n; k++) {
      const index = (this.cursor + k) % n;
      const replica = this.replicas[index];
      if (replica === undefined || !available(replica)) continue;
      if (best === undefined || replica.outstanding < best.outstanding) {
        best = replica;
        bestIndex = index;
      }
    }
    if (best !== undefined) {
      this.cursor = (bestIndex + 1) % n;
      return best;
    }
    // Every replica is ejected or busy with its probation call. Failing without trying would
    // turn a stale ejection into an outage, so try the one ejected longest ago (Envoy's "panic
    // mode" likewise routes to ejected hosts when too few are healthy).
    return this.leastRecentlyEjected();
  }

  private leastRecentlyEjected(): Replica {
    let oldest: Replica | undefined;
    for (const replica of this.replicas) {
      if (oldest === undefined || replica.ejectedAt < oldest.ejectedAt) oldest = replica;
    }
    if (oldest === undefined) throw new Error("a replica set needs at least one replica");
    return oldest;
  }

  /** Available replicas first (least outstanding), then the rest, least recently ejected first. */
  private preferenceOrder(): Replica[] {
    this.readmitDue(this.now());
    const inRotation = this.replicas.filter((r) => r.state !== "ejected");
    const ejected = this.replicas.filter((r) => r.state === "ejected");
    inRotation.sort((a, b) => a.outstanding - b.outstanding);
    ejected.sort((a, b) => a.ejectedAt - b.ejectedAt);
    return [...inRotation, ...ejected];
  }

  /** Puts replicas whose ejection has ended back into rotation, on probation. */
  private readmitDue(now: number): void {
    for (const replica of this.replicas) readmitIfDue(replica, now);
  }

  private record(replica: Replica, generation: number, probe: boolean, outcome: CallOutcome): void {
    // Ejected or re-admitted since this call started: its outcome belongs to the old period.
    if (replica.generation !== generation) return;
    if (probe) replica.probing = false;
    if (outcome === "neutral") return;
    const now = this.now();
    recordOutcome(replica, outcome, now, this.config.consecutiveFailures, (r) =>
      this.eject(r, now),
    );
  }

  private eject(replica: Replica, now: number): void {
    const ejected = this.replicas.filter((r) => r.state === "ejected").length;
    if (!mayEject(ejected, this.replicas.length, this.config.maxEjectionPercent)) return;
    ejectReplica(replica, now, this.config);
    try {
      this.onEject?.(replica.address);
    } catch {
      // A metrics hook must not replace the backend's error the caller is about to see.
    }
  }
}
