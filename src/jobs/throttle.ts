/**
 * Keeps async jobs to the CPU that live traffic leaves (docs/async.md "Priority"). The limiter's
 * and the batcher's lanes order calls at a backend, but on the gateway itself live requests and
 * jobs share one event loop: jobs running flat out would delay every live request a little. So
 * jobs take permits from this throttle, whose size follows the event loop's lag (AIMD, like TCP's
 * congestion window): a lagging loop halves the permits, a prompt one adds one back, between 1
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
}

interface Waiter {
  start: () => void;
}

/** An adaptive permit pool sized by event-loop lag. */
export class LoadThrottle {
  readonly #max: number;
  readonly #targetLagMs: number;
  readonly #sampleMs: number;
  readonly #liveActive: () => boolean;
  #allowed: number;
  #running = 0;
  readonly #waiting: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  constructor(options: ThrottleOptions) {
    this.#max = options.max;
    this.#allowed = options.max;
    this.#targetLagMs = options.targetLagMs ?? 5;
    this.#sampleMs = options.sampleMs ?? 20;
    this.#liveActive = options.liveActive ?? (() => liveWithin(500));
  }

  /** Permits now (for tests and logs). */
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

  /** Feeds one lag sample (ms): halves the permits when over target, else adds one. */
  observe(lagMs: number): void {
    if (!this.#liveActive()) this.#allowed = this.#max;
    else if (lagMs > this.#targetLagMs) this.#allowed = Math.max(1, Math.floor(this.#allowed / 2));
    else if (lagMs < this.#targetLagMs / 2) this.#allowed = Math.min(this.#max, this.#allowed + 1);
    this.#wake();
  }

  /** Runs `fn` once a permit is free; an aborted signal gives the place up. */
  async run<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
    if (this.#running >= this.#allowed) await this.#wait(signal);
    else this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#wake();
    }
  }

  #wait(signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          signal.removeEventListener("abort", onAbort);
          this.#running++;
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i !== -1) this.#waiting.splice(i, 1);
        reject(signal.reason);
      };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #wake(): void {
    while (this.#running < this.#allowed) {
      const next = this.#waiting.shift();
      if (next === undefined) return;
      next.start();
    }
  }
}
