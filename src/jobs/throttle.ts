/**
 * Keeps async jobs to the CPU that live traffic leaves (docs/async.md "Priority"). The limiter's
 * and the batcher's lanes order calls at a backend, but on the gateway itself live requests and
 * jobs share one event loop: jobs running flat out would delay every live request a little. So
 * the number of jobs a process runs at once follows the event loop's lag (AIMD, like TCP's
 * congestion window): a lagging loop halves it, a prompt one adds one back, between 1
 * (jobs always progress) and jobs.concurrency. Without live traffic (none in the last
 * `liveWindowMs`) the throttle stands aside: a loop slowed by other work on the machine must not
 * starve jobs that no live request competes with.
 */

import { liveWithin } from "./live-activity.js";

/** Options of {@link LoadThrottle}. */
export interface ThrottleOptions {
  /** Most permits (jobs.concurrency). */
  max: number;
  /** Lag above this (ms, beyond the sampling timer) counts as a busy loop. */
  targetLagMs?: number;
  /** How often the loop is sampled, ms. */
  sampleMs?: number;
  /** True while live traffic flows; default: a live request in the last 500 ms. */
  liveActive?: () => boolean;
  /** Told each new allowance (the store's concurrency). */
  onChange?: (allowed: number) => void;
}

/** An adaptive concurrency for jobs, sized by event-loop lag while live traffic flows. */
export class LoadThrottle {
  readonly #max: number;
  readonly #targetLagMs: number;
  readonly #sampleMs: number;
  readonly #liveActive: () => boolean;
  readonly #onChange: (allowed: number) => void;
  #allowed: number;
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  constructor(options: ThrottleOptions) {
    this.#max = options.max;
    this.#allowed = options.max;
    this.#targetLagMs = options.targetLagMs ?? 5;
    this.#sampleMs = options.sampleMs ?? 20;
    this.#liveActive = options.liveActive ?? (() => liveWithin(500));
    this.#onChange = options.onChange ?? (() => undefined);
  }

  /** Jobs allowed to run at once now. */
  get allowed(): number {
    return this.#allowed;
  }

  /** Starts sampling the event loop. */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.observe(now - this.#last - this.#sampleMs);
      this.#last = now;
    }, this.#sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Feeds one lag sample (ms): halves the allowance when over target, else adds one. */
  observe(lagMs: number): void {
    let next = this.#allowed;
    if (!this.#liveActive()) next = this.#max;
    else if (lagMs > this.#targetLagMs) next = Math.max(1, Math.floor(next / 2));
    else if (lagMs < this.#targetLagMs / 2) next = Math.min(this.#max, next + 1);
    if (next === this.#allowed) return;
    this.#allowed = next;
    this.#onChange(next);
  }
}
