/**
 * Progressive rollout of one model from a stable version to a canary, with automatic rollback
 * (docs/traffic.md "Progressive rollout"). The controller only decides the split; the caller routes by `weights()` and reports
 * every finished request with `record()`.
 *
 * Rules:
 * - Starts at step 0 (weight = steps[0]), phase "progressing".
 * - At the end of every interval: if the canary had fewer than `minRequests` requests, no decision
 *   (it stays on its step). Otherwise it rolls back (weight 0, phase "rolledBack", terminal) when
 *   canary error rate − stable error rate > `maxErrorRateIncrease`, or canary p99 / stable p99 >
 *   `maxP99Ratio`; else it advances one step. A healthy interval on the last step (100) ends it
 *   ("done", terminal): the full-traffic step is watched for one interval too.
 * - Early rollback: as soon as the canary has `minRequests` requests in the current interval and
 *   the error-rate condition already holds, it rolls back at once, mid-interval, so a failing
 *   canary's client errors stay bounded. p99 is judged only at the interval's end.
 * - Stats reset every interval, decided or not.
 * - The stable baseline is the interval's stable stats when it had at least `minRequests` (min 1)
 *   requests; otherwise the last such interval's (the stable gets little or no traffic near 100%);
 *   otherwise whatever the interval had. With no stable requests at all, the stable error rate
 *   counts as 0 and the p99 check is skipped.
 * - p99 denominators below 1 ms count as 1 ms, so sub-millisecond noise cannot trigger a rollback.
 * - A 0% step sends the canary no traffic, so it is passed after one interval without judgement.
 *
 * Replicas sharing a rollout (sync.ts) run their controllers `external`: no timer of their
 * own; one replica judges everybody's merged numbers with `endInterval`/`checkBreach`, the others
 * `adopt` the state it publishes.
 */
import type { RolloutConfig } from "../../config/schema.js";
import { type SetTimer, type TimerHandle, unrefTimer } from "../../timer.js";
import type { SplitEntry } from "../split.js";
import {
  errorBreach,
  healthySummary,
  latencyBreach,
  nextBaseline,
  type RolloutArms,
  type RolloutBaseline,
} from "./judge.js";
import { ArmStats, type ArmStatsData } from "./stats.js";
import type {
  RolloutChangeOrigin,
  RolloutOptions,
  RolloutPhase,
  RolloutSharedInfo,
  RolloutSnapshot,
  RolloutState,
} from "./types.js";

export type { RolloutArms, RolloutBaseline } from "./judge.js";
export type { RolloutArmStats } from "./stats.js";

export type {
  RolloutChangeOrigin,
  RolloutOptions,
  RolloutPhase,
  RolloutSharedInfo,
  RolloutSnapshot,
  RolloutState,
} from "./types.js";

/** Drives one model's rollout; see the module comment for the rules. */
export class RolloutController {
  readonly #model: string;
  readonly #config: RolloutConfig;
  readonly #onChange: RolloutOptions["onChange"];
  readonly #now: () => number;
  readonly #setTimer: SetTimer;
  readonly #external: boolean;
  readonly #arms: RolloutArms = { from: new ArmStats(), to: new ArmStats() };
  #baseline: RolloutBaseline | undefined;
  #phase: RolloutPhase = "progressing";
  #step = 0;
  #since: number;
  #lastDecision: string | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;
  #shared: (() => RolloutSharedInfo) | undefined;
  /** False for an external controller until it has a state from the fleet (or an initial one). */
  #synced: boolean;

  constructor(options: RolloutOptions) {
    this.#model = options.model;
    this.#config = options.config;
    this.#onChange = options.onChange;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? unrefTimer;
    this.#external = options.external === true;
    this.#since = this.#now();
    this.#synced = !this.#external || options.initial !== undefined;
    if (options.initial !== undefined) this.#restore(options.initial);
    this.#arm();
  }

  /** The canary's share now, 0-100. */
  get weight(): number {
    if (this.#phase === "rolledBack" || !this.#synced) return 0;
    return this.#config.steps[this.#step] ?? 100;
  }

  get phase(): RolloutPhase {
    return this.#phase;
  }

  /** The split to use now: the stable gets 100 − w, the canary w. */
  weights(): SplitEntry[] {
    const weight = this.weight;
    return [
      { version: this.#config.from, weight: 100 - weight },
      { version: this.#config.to, weight },
    ];
  }

  /**
   * Records one finished request of `version` (only `from` and `to` are tracked): `ok` false for
   * server-side failures (5xx-class codes), `latencyMs` its duration. Ignored once terminal or closed.
   */
  record(version: string, ok: boolean, latencyMs: number): void {
    if (this.#phase !== "progressing" || this.#closed) return;
    if (version === this.#config.from) {
      this.#arms.from.record(ok, latencyMs);
    } else if (version === this.#config.to) {
      this.#arms.to.record(ok, latencyMs);
      this.#breach(this.#arms, this.#external ? "local" : "decided");
    }
  }

  /**
   * Rolls back at once when `arms` (this replica's or all replicas' numbers for the current
   * interval) show the canary's error rate out of bounds over at least `minRequests`. True when
   * it rolled back.
   */
  checkBreach(arms: RolloutArms): boolean {
    return this.#breach(arms, "decided");
  }

  #breach(arms: RolloutArms, origin: RolloutChangeOrigin): boolean {
    if (this.#phase !== "progressing" || this.#closed) return false;
    if (arms.to.requests < this.#config.minRequests) return false;
    const breach = errorBreach(this.#config, arms, this.#baseline);
    if (breach === undefined) return false;
    this.#rollBack(`${breach} (mid-interval)`);
    this.#emit(origin);
    return true;
  }

  /**
   * Judges the interval that just ended on `arms` (default: this replica's numbers), then starts
   * the next one with fresh local stats. True when the step or phase changed. For `external`
   * controllers; a timer-driven one calls it itself.
   */
  endInterval(arms: RolloutArms = this.#arms): boolean {
    if (this.#closed || this.#phase !== "progressing") return false;
    const changed = this.#decide(arms);
    this.#resetStats();
    if (changed) this.#emit("decided");
    return changed;
  }

  /** This replica's numbers for the current interval, as replicas exchange them. */
  localData(): { from: ArmStatsData; to: ArmStatsData } {
    return { from: this.#arms.from.data(), to: this.#arms.to.data() };
  }

  /** Everything but the live stats: what replicas share. */
  state(): RolloutState {
    const state: RolloutState = { phase: this.#phase, step: this.#step, since: this.#since };
    if (this.#lastDecision !== undefined) state.lastDecision = this.#lastDecision;
    if (this.#baseline !== undefined) state.baseline = { ...this.#baseline };
    return state;
  }

  /**
   * Takes `state` (decided by another replica, or by this one on the shared numbers: `origin`
   * "decided") and starts a fresh interval. Reports a change when the step or phase moved.
   */
  adopt(state: RolloutState, origin: RolloutChangeOrigin = "adopted"): void {
    if (this.#closed) return;
    const before = this.#synced ? `${this.#phase}/${this.#step}` : "unsynced";
    this.#synced = true;
    this.#restore(state);
    this.#resetStats();
    if (`${this.#phase}/${this.#step}` !== before) this.#emit(origin);
  }

  /** Adds the shared-rollout view to snapshots (set by the replica's sync). */
  describeShared(info: () => RolloutSharedInfo): void {
    this.#shared = info;
  }

  snapshot(): RolloutSnapshot {
    const snapshot: RolloutSnapshot = {
      model: this.#model,
      from: this.#config.from,
      to: this.#config.to,
      phase: this.#phase,
      step: this.#step,
      weight: this.weight,
      since: new Date(this.#since).toISOString(),
      stats: { from: this.#arms.from.summary(), to: this.#arms.to.summary() },
    };
    if (this.#lastDecision !== undefined) snapshot.lastDecision = this.#lastDecision;
    if (this.#shared !== undefined) snapshot.shared = this.#shared();
    return snapshot;
  }

  /** Stops the interval timer; the weights stay where they are. */
  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #restore(state: RolloutState): void {
    const last = this.#config.steps.length - 1;
    this.#step = Number.isInteger(state.step) ? Math.min(Math.max(state.step, 0), last) : 0;
    this.#phase = state.phase;
    if (Number.isFinite(state.since)) this.#since = state.since;
    this.#lastDecision = state.lastDecision;
    this.#baseline = state.baseline === undefined ? undefined : { ...state.baseline };
    if (this.#phase !== "progressing") {
      this.#timer?.clear();
      this.#timer = undefined;
    }
  }

  #resetStats(): void {
    if (this.#phase !== "progressing") return;
    this.#arms.from.reset();
    this.#arms.to.reset();
  }

  #arm(): void {
    if (this.#external || this.#closed || this.#phase !== "progressing") return;
    this.#timer = this.#setTimer(() => {
      this.#timer = undefined;
      this.endInterval();
      this.#arm();
    }, this.#config.intervalSeconds * 1000);
  }

  /** Judges the interval that just ended; true when the step or phase changed. */
  #decide(arms: RolloutArms): boolean {
    const weight = this.weight;
    if (weight === 0) return this.#advance("0% step sends the canary no traffic");
    if (arms.to.requests < this.#config.minRequests) {
      this.#lastDecision = `waiting at ${weight}%: canary had ${arms.to.requests} of ${this.#config.minRequests} requests needed`;
      this.#baseline = nextBaseline(this.#config, arms, this.#baseline);
      return false;
    }
    const breach =
      errorBreach(this.#config, arms, this.#baseline) ??
      latencyBreach(this.#config, arms, this.#baseline);
    if (breach !== undefined) {
      this.#rollBack(breach);
      return true;
    }
    const summary = healthySummary(this.#config, arms, this.#baseline);
    this.#baseline = nextBaseline(this.#config, arms, this.#baseline);
    return this.#advance(summary);
  }

  #advance(why: string): boolean {
    const next = this.#step + 1;
    const weight = this.#config.steps[next];
    if (weight === undefined) {
      this.#phase = "done";
      this.#lastDecision = `done at ${this.weight}%: ${why}`;
    } else {
      this.#step = next;
      this.#lastDecision = `advanced to ${weight}%: ${why}`;
    }
    this.#since = this.#now();
    return true;
  }

  #rollBack(why: string): void {
    this.#lastDecision = `rolled back from ${this.weight}%: ${why}`;
    this.#phase = "rolledBack";
    this.#since = this.#now();
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #emit(origin: RolloutChangeOrigin): void {
    this.#onChange?.(this.snapshot(), origin);
  }
}
