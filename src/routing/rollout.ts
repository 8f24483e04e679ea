/**
 * Progressive rollout of one model from a stable version to a canary, with automatic rollback
 * (issue 6). The controller only decides the split; the caller routes by `weights()` and reports
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
 */
import type { RolloutConfig } from "../config/schema.js";
import { ArmStats, type RolloutArmStats } from "./rollout-stats.js";
import type { SplitEntry } from "./split.js";

export type { RolloutArmStats } from "./rollout-stats.js";

export type RolloutPhase = "progressing" | "done" | "rolledBack";

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
}

export interface TimerHandle {
  clear(): void;
}

export interface RolloutOptions {
  model: string;
  /** The model's `rollout` block, defaults applied. */
  config: RolloutConfig;
  /** Called after every step or phase change (not after waits); must not throw. */
  onChange?: (snapshot: RolloutSnapshot) => void;
  /** Wall-clock ms (for `since`); default `Date.now`. */
  now?: () => number;
  /** Starts a ONE-SHOT timer (the controller re-arms it each interval); default an unref'd setTimeout. */
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
}

/** The floor of a p99 denominator, in ms. */
const P99_FLOOR_MS = 1;

function defaultTimer(fn: () => void, ms: number): TimerHandle {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return { clear: () => clearTimeout(timer) };
}

const pct = (rate: number): string => `${(rate * 100).toFixed(1)}%`;
const ms = (value: number): string => `${Number(value.toFixed(2))} ms`;

/** Drives one model's rollout; see the module comment for the rules. */
export class RolloutController {
  readonly #model: string;
  readonly #config: RolloutConfig;
  readonly #onChange: ((snapshot: RolloutSnapshot) => void) | undefined;
  readonly #now: () => number;
  readonly #setTimer: (fn: () => void, ms: number) => TimerHandle;
  readonly #from = new ArmStats();
  readonly #to = new ArmStats();
  #baseline: { errorRate: number; p99: number | null } | undefined;
  #phase: RolloutPhase = "progressing";
  #step = 0;
  #weight: number;
  #since: number;
  #lastDecision: string | undefined;
  #timer: TimerHandle | undefined;
  #closed = false;

  constructor(options: RolloutOptions) {
    this.#model = options.model;
    this.#config = options.config;
    this.#onChange = options.onChange;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? defaultTimer;
    this.#weight = this.#config.steps[0] ?? 100;
    this.#since = this.#now();
    this.#arm();
  }

  /** The split to use now: the stable gets 100 − w, the canary w. */
  weights(): SplitEntry[] {
    return [
      { version: this.#config.from, weight: 100 - this.#weight },
      { version: this.#config.to, weight: this.#weight },
    ];
  }

  /**
   * Records one finished request of `version` (only `from` and `to` are tracked): `ok` false for
   * server-side failures (5xx-class codes), `latencyMs` its duration. Ignored once terminal or closed.
   */
  record(version: string, ok: boolean, latencyMs: number): void {
    if (this.#phase !== "progressing" || this.#closed) return;
    if (version === this.#config.from) {
      this.#from.record(ok, latencyMs);
    } else if (version === this.#config.to) {
      this.#to.record(ok, latencyMs);
      if (this.#to.requests >= this.#config.minRequests) {
        const breach = this.#errorBreach();
        if (breach !== undefined) this.#rollBack(`${breach} (mid-interval)`);
      }
    }
  }

  snapshot(): RolloutSnapshot {
    const snapshot: RolloutSnapshot = {
      model: this.#model,
      from: this.#config.from,
      to: this.#config.to,
      phase: this.#phase,
      step: this.#step,
      weight: this.#weight,
      since: new Date(this.#since).toISOString(),
      stats: { from: this.#from.summary(), to: this.#to.summary() },
    };
    if (this.#lastDecision !== undefined) snapshot.lastDecision = this.#lastDecision;
    return snapshot;
  }

  /** Stops the interval timer; the weights stay where they are. */
  close(): void {
    this.#closed = true;
    this.#timer?.clear();
    this.#timer = undefined;
  }

  #arm(): void {
    if (this.#closed || this.#phase !== "progressing") return;
    this.#timer = this.#setTimer(() => this.#tick(), this.#config.intervalSeconds * 1000);
  }

  /**
   * Which stable numbers the canary is judged against (see the module comment). Returns the
   * current interval's arm or the remembered baseline; cheap, so it can run on every record.
   */
  #stable(): ArmStats | { errorRate: number; p99(): number | null } {
    if (this.#from.requests >= Math.max(1, this.#config.minRequests)) return this.#from;
    const baseline = this.#baseline;
    if (baseline === undefined) return this.#from;
    return { errorRate: baseline.errorRate, p99: () => baseline.p99 };
  }

  /** The reason the canary's error rate fails, or undefined when it is within bounds. */
  #errorBreach(): string | undefined {
    const stable = this.#stable().errorRate;
    const canary = this.#to.errorRate;
    if (canary - stable <= this.#config.maxErrorRateIncrease) return undefined;
    return (
      `canary error rate ${pct(canary)} exceeds stable ${pct(stable)} by more than ` +
      `${pct(this.#config.maxErrorRateIncrease)} (${this.#to.errors}/${this.#to.requests} requests)`
    );
  }

  /** The reason the canary's p99 fails, or undefined when within bounds or not comparable. */
  #latencyBreach(): string | undefined {
    const stable = this.#stable().p99();
    const canary = this.#to.p99();
    if (stable === null || canary === null) return undefined;
    const ratio = canary / Math.max(stable, P99_FLOOR_MS);
    if (ratio <= this.#config.maxP99Ratio) return undefined;
    return `canary p99 ${ms(canary)} is ${ratio.toFixed(2)}x the stable's ${ms(stable)} (max ${this.#config.maxP99Ratio}x)`;
  }

  #tick(): void {
    this.#timer = undefined;
    if (this.#closed || this.#phase !== "progressing") return;
    const changed = this.#decide();
    if (this.#phase === "progressing") {
      this.#from.reset();
      this.#to.reset();
      this.#arm();
    }
    if (changed) this.#emit();
  }

  /** Judges the interval that just ended; true when the step or phase changed. */
  #decide(): boolean {
    const weight = this.#weight;
    if (weight === 0) return this.#advance("0% step sends the canary no traffic");
    if (this.#to.requests < this.#config.minRequests) {
      this.#lastDecision = `waiting at ${weight}%: canary had ${this.#to.requests} of ${this.#config.minRequests} requests needed`;
      this.#keepBaseline();
      return false;
    }
    const breach = this.#errorBreach() ?? this.#latencyBreach();
    if (breach !== undefined) {
      this.#rollBack(breach, false);
      return true;
    }
    const stable = this.#stable();
    const stableP99 = stable.p99();
    const canaryP99 = this.#to.p99();
    const latency =
      stableP99 !== null && canaryP99 !== null ? `, p99 ${ms(canaryP99)} vs ${ms(stableP99)}` : "";
    this.#keepBaseline();
    return this.#advance(
      `canary error rate ${pct(this.#to.errorRate)} vs stable ${pct(stable.errorRate)}${latency} over ${this.#to.requests} requests`,
    );
  }

  /** Remembers this interval's stable numbers when they are solid enough to judge by later. */
  #keepBaseline(): void {
    if (this.#from.requests >= Math.max(1, this.#config.minRequests)) {
      this.#baseline = { errorRate: this.#from.errorRate, p99: this.#from.p99() };
    }
  }

  #advance(why: string): boolean {
    const next = this.#step + 1;
    const weight = this.#config.steps[next];
    if (weight === undefined) {
      this.#phase = "done";
      this.#lastDecision = `done at ${this.#weight}%: ${why}`;
    } else {
      this.#step = next;
      this.#weight = weight;
      this.#lastDecision = `advanced to ${weight}%: ${why}`;
    }
    this.#since = this.#now();
    return true;
  }

  #rollBack(why: string, emit = true): void {
    this.#lastDecision = `rolled back from ${this.#weight}%: ${why}`;
    this.#phase = "rolledBack";
    this.#weight = 0;
    this.#since = this.#now();
    this.#timer?.clear();
    this.#timer = undefined;
    if (emit) this.#emit();
  }

  #emit(): void {
    this.#onChange?.(this.snapshot());
  }
}
