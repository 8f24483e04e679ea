/** The types of a progressive rollout: its phase, state, snapshot and the controller's options. */
import type { RolloutConfig } from "../../config/schema.js";
import type { SetTimer } from "../../timer.js";
import type { RolloutBaseline } from "./judge.js";
import type { RolloutArmStats } from "./stats.js";

export type RolloutPhase = "progressing" | "done" | "rolledBack";

/** How a replica takes part in a rollout shared through Redis (shown in `/admin/routes`). */
export interface RolloutSharedInfo {
  /** "connected" while Redis answers; while "unavailable" the weights hold where they are. */
  redis: "connected" | "unavailable";
  /** True on the replica that judges the intervals. */
  leader: boolean;
  /** The Redis key holding the shared state (delete it to start the same rollout over). */
  key: string;
  /** The shared interval number. */
  interval: number;
  /** Replicas that reported numbers for the current interval (this one included). */
  replicas: number;
}

/** The rollout's state, for logs, metrics and `/admin/routes`. */
export interface RolloutSnapshot {
  model: string;
  from: string;
  to: string;
  phase: RolloutPhase;
  /** Index into `config.steps` (the last reached step once terminal). */
  step: number;
  /** The canary's share, 0-100. */
  weight: number;
  /** ISO time of the last step or phase change (or of the start). */
  since: string;
  /** Why the last interval ended as it did (including waits for traffic). */
  lastDecision?: string;
  /** The current interval's stats; once terminal, those of the interval that decided it. */
  stats?: { from: RolloutArmStats; to: RolloutArmStats };
  /** Present when replicas share the rollout through Redis. */
  shared?: RolloutSharedInfo;
}

/** What replicas exchange and a controller can resume from: everything but the live stats. */
export interface RolloutState {
  phase: RolloutPhase;
  /** Index into `config.steps`; the weight follows from it (0 once rolled back). */
  step: number;
  /** Wall-clock ms of the last step or phase change. */
  since: number;
  lastDecision?: string;
  baseline?: RolloutBaseline;
}

/**
 * What changed a controller's state: its own judgement ("decided"), a state adopted from
 * elsewhere ("adopted"), or, for a replica sharing the rollout, a rollback on its own numbers that
 * is not yet shared ("local": counted once it is published).
 */
export type RolloutChangeOrigin = "decided" | "adopted" | "local";

export interface RolloutOptions {
  model: string;
  /** The model's `rollout` block, defaults applied. */
  config: RolloutConfig;
  /** Called after every step or phase change (not after waits); must not throw. */
  onChange?: (snapshot: RolloutSnapshot, origin: RolloutChangeOrigin) => void;
  /** Wall-clock ms (for `since`); default `Date.now`. */
  now?: () => number;
  /** Starts a ONE-SHOT timer (the controller re-arms it each interval); default an unref'd setTimeout. */
  setTimer?: SetTimer;
  /** Resume from this state instead of step 0. */
  initial?: RolloutState;
  /**
   * No interval timer: the owner ends intervals with `endInterval` (replicas sharing a rollout).
   * Without `initial`, such a controller sends the canary nothing until it first adopts a state:
   * a replica that has not heard the fleet's step yet must not guess it.
   */
  external?: boolean;
}
