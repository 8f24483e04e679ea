/**
 * The per-target circuit breaker. opossum keeps the rolling window, decides when the error rate
 * opens the circuit, and runs the reset timer that moves it to half-open. This file decides what a
 * call counts as and who may pass, because opossum's own rules differ from docs/resilience.md "Circuit breaker":
 * - opossum counts a call as fired before it knows the outcome, and an `errorFilter`ed error as a
 *   success (which also closes a half-open circuit). A client's bad input or our own OVERLOADED
 *   must count neither way, so each call runs outside opossum and only a server-side outcome is
 *   replayed into it afterwards.
 * - opossum counts a rejected call as fired too, so a long open spell dilutes the error rate after
 *   it closes; rejections here never reach `fire`.
 * - a half-open probe that ends with a client error keeps the circuit half-open for the next call.
 */

import CircuitBreaker from "opossum";
import { settleByAbort } from "../abort.js";
import type { BreakerConfig } from "../config/schema.js";
import { BackendUnavailableError } from "../errors.js";
import { countsAgainstTarget } from "../fault.js";
import type { InferFn, Policy, TargetCall } from "./types.js";

/** Where a circuit is: calls pass, fail fast, or one probe may pass. */
export type BreakerState = "closed" | "open" | "halfOpen";

/** A breaker's name (for logs), its effective config, and who hears of state changes. */
export interface BreakerOptions {
  name: string;
  /** Every key set: `effectivePolicy(config, model, "breaker")`. */
  config: BreakerConfig;
  onStateChange?: (state: BreakerState) => void;
}

/** A breaker's state and its rolling-window counts, as GET /admin/breakers shows them. */
export interface BreakerSnapshot {
  state: BreakerState;
  successes: number;
  failures: number;
  rejects: number;
  /** When the circuit last opened (ISO 8601), while it is open or half-open. */
  openedAt?: string;
}

/** opossum rotates one bucket per `rollingWindowMs / buckets`; keep that interval >= 1 ms. */
const MAX_BUCKETS = 10;

/** The rejection of a call the breaker did not let through: BACKEND_UNAVAILABLE, never retried. */
class BreakerOpenError extends BackendUnavailableError {}

/** True when `err` is a breaker's fail-fast rejection (the backend was not called). */
export function isBreakerOpen(err: unknown): boolean {
  return err instanceof BreakerOpenError;
}

type Outcome = { ok: true } | { ok: false; error: unknown };

/** A circuit breaker for one target, used as the policy `breaker.policy`. */
export class TargetBreaker {
  /**
   * Wraps the next InferFn. While open it rejects at once (the backend is not called) with a
   * BACKEND_UNAVAILABLE that `isBreakerOpen` recognises, whose `retryAfterSeconds` is the time
   * until the half-open probe (1 while a probe is in flight). Half-open lets exactly one probe through: success closes, a
   * server-side failure re-opens for another `resetTimeoutMs`. When a call is let through, the
   * caller sees that call's own result or error.
   */
  readonly policy: Policy;
  private readonly circuit: CircuitBreaker<[Outcome], void>;
  private readonly name: string;
  private readonly resetTimeoutMs: number;
  private openedAt: number | undefined;
  private probing = false;

  constructor(options: BreakerOptions) {
    const { config } = options;
    this.name = options.name;
    this.resetTimeoutMs = config.resetTimeoutMs;
    // The action only replays an outcome that already happened, so it never needs a timeout.
    this.circuit = new CircuitBreaker<[Outcome], void>(
      async (outcome) => {
        if (!outcome.ok) throw outcome.error;
      },
      {
        name: options.name,
        timeout: false,
        errorThresholdPercentage: config.errorThresholdPercentage,
        volumeThreshold: config.volumeThreshold,
        rollingCountTimeout: config.rollingWindowMs,
        rollingCountBuckets: Math.max(1, Math.min(MAX_BUCKETS, config.rollingWindowMs)),
        resetTimeout: config.resetTimeoutMs,
        allowWarmUp: false,
        enableSnapshots: false,
        rollingPercentilesEnabled: false,
      },
    );
    this.circuit.on("open", () => {
      this.openedAt = Date.now();
      options.onStateChange?.("open");
    });
    this.circuit.on("halfOpen", () => options.onStateChange?.("halfOpen"));
    this.circuit.on("close", () => {
      this.openedAt = undefined;
      options.onStateChange?.("closed");
    });
    this.policy = (next) => (request) => this.run(next, request);
  }

  /** The circuit's state now. */
  get state(): BreakerState {
    if (this.circuit.opened) return "open";
    if (this.circuit.halfOpen) return "halfOpen";
    return "closed";
  }

  /** The state, the counts in the rolling window, and when the circuit opened. */
  snapshot(): BreakerSnapshot {
    const stats = this.circuit.stats;
    const state = this.state;
    return {
      state,
      successes: stats.successes,
      failures: stats.failures,
      rejects: stats.rejects,
      ...(state !== "closed" && this.openedAt !== undefined
        ? { openedAt: new Date(this.openedAt).toISOString() }
        : {}),
    };
  }

  /** Stops opossum's timers; calls made afterwards pass straight through. */
  close(): void {
    this.circuit.shutdown();
  }

  private async run(next: InferFn, request: TargetCall) {
    const circuit = this.circuit;
    if (circuit.isShutdown) return next(request);
    let probe = false;
    if (!circuit.closed) {
      // opossum's own test for "let one through": half-open and nobody fired since.
      if (!circuit.halfOpen || !circuit.pendingClose || this.probing) throw this.reject();
      probe = true;
      this.probing = true;
    }
    try {
      // A backend that ignores cancellation cannot hold a half-open probe (and the target) forever.
      const result = await settleByAbort(
        next(request),
        request.call.signal,
        request.target.backend,
      );
      await this.record(probe, { ok: true });
      return result;
    } catch (error) {
      if (countsAgainstTarget(error, request.call.signal))
        await this.record(probe, { ok: false, error });
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /**
   * Feeds one counted outcome to opossum, which updates the window and opens or closes. A call let
   * through while closed is dropped if the circuit has since opened (its verdict is already in).
   */
  private async record(probe: boolean, outcome: Outcome): Promise<void> {
    const circuit = this.circuit;
    const current = probe ? circuit.halfOpen && circuit.pendingClose : circuit.closed;
    if (!current) return;
    try {
      await circuit.fire(outcome);
    } catch {
      // fire rejects with the replayed failure itself; the caller gets it from `run`.
    }
  }

  private reject(): BreakerOpenError {
    const err = new BreakerOpenError(`circuit breaker open for ${this.name}`, {
      retryAfterSeconds: this.secondsToProbe(),
    });
    // Counted in the window's `rejects` without going through `fire`, which would count it as a call.
    this.circuit.emit("reject", err);
    return err;
  }

  private secondsToProbe(): number {
    if (!this.circuit.opened || this.openedAt === undefined) return 1;
    const ms = this.openedAt + this.resetTimeoutMs - Date.now();
    return Math.max(1, Math.ceil(ms / 1000));
  }
}
