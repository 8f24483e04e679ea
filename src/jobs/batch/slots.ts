/**
 * The bound on batch infer calls in flight per backend, shared by every batch of the process, so
 * several batches on one target together take no more than `inFlightPerTarget` of its capacity.
 *
 * While live traffic flows (a live request in the last half second), batch work steps aside
 * further: one call per target at a time, and after each call a pause as long as the call took,
 * so a live request never waits behind a queue of batch calls and the batch gets at most about
 * half of what the backend could do. Without live traffic the batch runs flat out.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { OverloadedError } from "../../errors.js";
import { liveWithin } from "../live-activity.js";
import { Permits } from "../permits.js";

/** At most this many distinct targets are tracked (a config has far fewer backends). */
const MAX_TARGETS = 1024;
/** "Live traffic flows": a live request started within this window. */
export const LIVE_WINDOW_MS = 500;
/** Pause after a batch call while live traffic flows, as a multiple of the call's duration. */
const LIVE_PAUSE_FACTOR = 1;

/** Per-target permits. */
export class TargetSlots {
  readonly #size: number;
  readonly #permits = new Map<string, Permits>();
  readonly #live: () => boolean;

  constructor(size: number, live: () => boolean = () => liveWithin(LIVE_WINDOW_MS)) {
    this.#size = size;
    this.#live = live;
  }

  /** True while live traffic flows (batch calls then yield). */
  get live(): boolean {
    return this.#live();
  }

  /** Runs `fn` holding one of the target's permits. */
  async run<T>(target: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T> {
    let permits = this.#permits.get(target);
    if (permits === undefined) {
      if (this.#permits.size >= MAX_TARGETS) this.#permits.clear();
      permits = new Permits(this.#size);
      this.#permits.set(target, permits);
    }
    permits.resize(this.#live() ? 1 : this.#size);
    if (!(await permits.acquire())) throw new OverloadedError("batch slots are closed");
    const started = performance.now();
    try {
      signal.throwIfAborted();
      return await fn();
    } finally {
      if (this.#live()) {
        const pauseMs = (performance.now() - started) * LIVE_PAUSE_FACTOR;
        await sleep(pauseMs, undefined, { signal }).catch(() => undefined);
      }
      permits.release();
    }
  }
}
